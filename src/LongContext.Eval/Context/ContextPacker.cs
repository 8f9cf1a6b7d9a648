namespace LongContext.Eval.Context;

/// <summary>How much room the prompt has.</summary>
public sealed record PackOptions
{
    /// <summary>The model's window in tokens (max_position_embeddings or --max-context).</summary>
    public required int ContextWindow { get; init; }
    /// <summary>Tokens kept free for the answer.</summary>
    public int MaxAnswerTokens { get; init; } = 1024;
    /// <summary>Names the folder in the preamble.</summary>
    public string Name { get; init; } = "repository";
    public bool Documents { get; init; }
}

/// <summary>A file in the pack report: its tokens are those of its block (header + text).</summary>
public sealed record PackedFile(string Path, string Language, FileKind Kind, int Tokens, long Bytes);

/// <summary>The packed user message and the full account of what went in and what did not.</summary>
public sealed record PackResult
{
    public required string Prompt { get; init; }
    /// <summary>Tokens of the whole prompt as the model sees it (chat template included).</summary>
    public required int PromptTokens { get; init; }
    public required bool TokensExact { get; init; }
    public required string TokenCounter { get; init; }
    public required int ContextWindow { get; init; }
    public required int MaxAnswerTokens { get; init; }
    /// <summary>Preamble, end marker, question and chat template.</summary>
    public required int OverheadTokens { get; init; }
    /// <summary>Tokens available for file blocks: window − answer − overhead.</summary>
    public required int FileBudgetTokens { get; init; }
    public required IReadOnlyList<PackedFile> Included { get; init; }
    /// <summary>Text files that were eligible but left out to fit the window, in packing order.</summary>
    public required IReadOnlyList<PackedFile> Omitted { get; init; }
    /// <summary>Paths the scan left out (ignored, vendored, binary, generated, ...).</summary>
    public required IReadOnlyList<SkippedPath> Skipped { get; init; }
    public int IncludedTokens => Included.Sum(f => f.Tokens);
    public int OmittedTokens => Omitted.Sum(f => f.Tokens);
}

/// <summary>
/// Fits a scanned folder into the window. Budget for files = window − answer tokens − overhead (preamble, question,
/// chat template, measured by rendering the message with no files). Kinds get the budget in
/// <see cref="FileOrder.BudgetPriority"/> order (overview, build, sources, docs, tests, other); when a kind's files do
/// not all fit in what is left, its largest files are left out first (ties: the later one) until the rest fits, and
/// the next kind gets what remains. Kept files stay in <see cref="FileOrder"/>'s order. The finished prompt is measured
/// once more; if token merges across block boundaries push it over, files are dropped from the lowest priority until it fits.
/// </summary>
public static class ContextPacker
{
    public static PackResult Pack(RepoScan scan, string question, PromptTokenCounter counter, PackOptions options)
    {
        var limit = options.ContextWindow - options.MaxAnswerTokens;
        // Counts rendered with wide placeholders so the real counts cannot make the preamble longer.
        var overhead = counter.CountPrompt(AskPrompt.Build(options.Name, options.Documents, [], 999_999, 999_999, question));
        var budget = limit - overhead;
        if (options.MaxAnswerTokens <= 0) throw new AskException("--max-answer-tokens must be positive.");
        if (budget < 0)
            throw new AskException($"The question and prompt template take {overhead} tokens and the answer {options.MaxAnswerTokens}, more than the {options.ContextWindow}-token window: raise --max-context or lower --max-answer-tokens.");

        var ordered = FileOrder.Sort(scan.Files);
        var blocks = ordered.Select(AskPrompt.Block).ToArray();
        var tokens = blocks.Select(counter.CountFragment).ToArray();
        var keep = new bool[ordered.Count];
        var remaining = budget;
        foreach (var kind in FileOrder.BudgetPriority)
        {
            var members = Enumerable.Range(0, ordered.Count).Where(i => ordered[i].Kind == kind).ToList();
            foreach (var i in members) keep[i] = true;
            long sum = members.Sum(i => (long)tokens[i]);
            foreach (var i in members.OrderByDescending(i => tokens[i]).ThenByDescending(i => i))
            {
                if (sum <= remaining) break;
                keep[i] = false;
                sum -= tokens[i];
            }
            remaining -= (int)sum;
        }

        var (prompt, total) = Render(ordered, blocks, keep, options, question, counter);
        while (total > limit && keep.Any(k => k))
        {
            // Drop lowest-priority, largest files until the dropped tokens cover the excess, then measure again.
            var excess = total - limit;
            var order = Enumerable.Range(0, ordered.Count).Where(i => keep[i])
                .OrderByDescending(i => Priority(ordered[i].Kind)).ThenByDescending(i => tokens[i]).ThenByDescending(i => i);
            foreach (var i in order)
            {
                keep[i] = false;
                excess -= tokens[i];
                if (excess <= 0) break;
            }
            (prompt, total) = Render(ordered, blocks, keep, options, question, counter);
        }

        PackedFile Packed(int i) => new(ordered[i].Path, ordered[i].Language, ordered[i].Kind, tokens[i], ordered[i].Bytes);
        return new PackResult
        {
            Prompt = prompt,
            PromptTokens = total,
            TokensExact = counter.IsExact,
            TokenCounter = counter.Describe,
            ContextWindow = options.ContextWindow,
            MaxAnswerTokens = options.MaxAnswerTokens,
            OverheadTokens = overhead,
            FileBudgetTokens = budget,
            Included = Enumerable.Range(0, ordered.Count).Where(i => keep[i]).Select(Packed).ToList(),
            Omitted = Enumerable.Range(0, ordered.Count).Where(i => !keep[i]).Select(Packed).ToList(),
            Skipped = scan.Skipped,
        };
    }

    private static int Priority(FileKind kind)
    {
        for (var i = 0; i < FileOrder.BudgetPriority.Count; i++) if (FileOrder.BudgetPriority[i] == kind) return i;
        return FileOrder.BudgetPriority.Count;
    }

    private static (string Prompt, int Tokens) Render(IReadOnlyList<RepoFile> ordered, string[] blocks, bool[] keep, PackOptions options, string question, PromptTokenCounter counter)
    {
        var included = keep.Count(k => k);
        var prompt = AskPrompt.Build(options.Name, options.Documents, blocks.Where((_, i) => keep[i]), included, ordered.Count - included, question);
        return (prompt, counter.CountPrompt(prompt));
    }
}
