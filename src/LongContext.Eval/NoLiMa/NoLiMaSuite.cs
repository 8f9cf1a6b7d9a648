using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using LongContext.Eval.Backends;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;
using LongContext.Eval.Text;
using LongContext.Formats.Tokenization;

namespace LongContext.Eval.NoLiMa;

/// <summary>NoLiMa's metrics (async_evaluate.py _evaluate_response); its run configs use contains.</summary>
public enum NoLiMaMetric { Contains, Em, LastLineContains, LastLineEm }

public sealed record NoLiMaOptions
{
    public required string NeedleSet { get; init; }
    /// <summary>Haystack books (.txt), in the order that numbers them for the seed (sorted by name by the CLI).</summary>
    public required IReadOnlyList<string> Haystacks { get; init; }
    /// <summary>Haystack tokens per prompt (NoLiMa's context_length; its "1K" is 1000).</summary>
    public IReadOnlyList<int> Lengths { get; init; } = [250, 500, 1000, 2000, 4000, 8000, 16000, 32000];
    /// <summary>np.linspace(0, 100, n) needle depths; NoLiMa's run configs use 26.</summary>
    public int DepthCount { get; init; } = 26;
    public NoLiMaMetric Metric { get; init; } = NoLiMaMetric.Contains;
    /// <summary>The API connector's default system prompt (use_default_system_prompt); null or empty: none.</summary>
    public string? SystemPrompt { get; init; } = "You are a helpful assistant";
    /// <summary>NoLiMa's model configs: max_tokens 192.</summary>
    public int MaxNewTokens { get; init; } = 192;
    /// <summary>Only the first N tests of the needle set (quick runs; null: all).</summary>
    public int? Limit { get; init; }
}

/// <summary>
/// NoLiMa (Adobe Research; ICML 2025) on a user-provided copy of its data: every test of a needle set × haystack book ×
/// depth × length, placed with the evaluated model's tokenizer as book_haystack.py does, the {CHAR} name drawn with
/// NumPy's legacy generator seeded as run_tests.py seeds it, the task template, and its metric. The report gives
/// accuracy per length, the base score (mean over lengths ≤ 1K), effective length (≥ 85% of base) and a depth heatmap.
/// </summary>
public static class NoLiMaSuite
{
    public const string SuiteName = "nolima";
    public const double EffectiveFraction = 0.85;

    public static (RunManifest Manifest, List<EvalItemPlan> Plans) Plan(NoLiMaOptions o, EvalSession session)
    {
        if (o.Haystacks.Count == 0) throw new EvalException("NoLiMa: no haystack books (*.txt) given.");
        if (o.DepthCount < 1) throw new EvalException("--depths must be at least 1.");
        var tests = NoLiMaNeedleSet.Load(o.NeedleSet);
        if (o.Limit is int limit) tests = tests.Take(limit).ToList();
        var depths = Depths(o.DepthCount);
        var tokenizer = session.Measurer.Tokenizer;
        var books = o.Haystacks.Select(path => new Lazy<NoLiMaHaystack>(() => new NoLiMaHaystack(path, tokenizer))).ToList();
        var config = session.WithModel(new JsonObject
        {
            ["suite"] = SuiteName,
            ["needle_set"] = $"{Path.GetFileName(o.NeedleSet)}@{Sha(o.NeedleSet)}",
            ["haystacks"] = new JsonArray(o.Haystacks.Select(h => (JsonNode?)$"{Path.GetFileName(h)}@{Sha(h)}").ToArray()),
            ["metric"] = o.Metric.ToString().ToLowerInvariant(),
            ["system_prompt"] = o.SystemPrompt,
            ["max_new_tokens"] = o.MaxNewTokens,
        });
        var hash = RunManifest.Hash(config);
        var plans = new List<EvalItemPlan>();
        foreach (var length in o.Lengths)
            foreach (var test in tests)
                for (var h = 0; h < books.Count; h++)
                    for (var j = 0; j < depths.Length; j++)
                    {
                        var (len, t, book, dj) = (length, test, h, j);
                        var name = Path.GetFileNameWithoutExtension(o.Haystacks[h]);
                        plans.Add(new EvalItemPlan(SuiteName, t.Name, len, $"{name}|{depths[dj].ToString("0.##", CultureInfo.InvariantCulture)}", depths[dj],
                            () => Build(o, session, t, books[book].Value, book, depths, dj, len, tokenizer)));
                    }
        var manifest = new RunManifest
        {
            Suite = SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = session.Placement,
            Lengths = o.Lengths, Depths = depths,
            Tasks = [new TaskNote(SuiteName, true, o.Limit is null && o.DepthCount == 26,
                $"{tests.Count} tests × {books.Count} books × {depths.Length} depths per length; metric {o.Metric.ToString().ToLowerInvariant()}; lengths are haystack tokens of the model's tokenizer")],
        };
        return (manifest, plans);
    }

    /// <summary>np.linspace(0, 100, n): i·step, the last exactly 100.</summary>
    public static double[] Depths(int n) => n == 1 ? [0] : Enumerable.Range(0, n).Select(i => i == n - 1 ? 100.0 : i * (100.0 / (n - 1))).ToArray();

    private static EvalItem Build(NoLiMaOptions o, EvalSession session, NoLiMaTest t, NoLiMaHaystack book, int bookIndex, double[] depths, int depthIndex, int length, ITextTokenizer tokenizer)
    {
        // async_evaluate.py seeds once per (test, book) and draws per depth in order: the character, then the distractor depth.
        var rng = new NumpyLegacyRandom((uint)(t.Seed + bookIndex));
        string? character = null;
        var distractorDepth = 0.0;
        for (var k = 0; k <= depthIndex; k++)
        {
            if (t.HasCharacter) character = t.CharacterSet![rng.Choice(t.CharacterSet.Count)];
            if (t.Distractor is not null) distractorDepth = NoLiMaHaystack.DistractorDepth(rng, length, depths[k] / 100);
        }
        var needle = character is null ? t.Needle : t.Needle.Replace("{CHAR}", character);
        var question = character is not null && t.Question.Contains("{CHAR}", StringComparison.Ordinal) ? t.Question.Replace("{CHAR}", character) : t.Question;
        var depth = depths[depthIndex] / 100;
        var haystack = t.Distractor is null ? book.Place(needle, length, depth) : book.PlaceWithDistractor(needle, t.Distractor, length, depth, distractorDepth);
        var prompt = PythonStrings.Format(t.TaskTemplate, new Dictionary<string, string> { ["haystack"] = haystack, ["question"] = question });
        List<ChatMessage> messages = string.IsNullOrEmpty(o.SystemPrompt) ? [] : [new ChatMessage("system", o.SystemPrompt)];
        messages.Add(new ChatMessage("user", prompt));
        IReadOnlyList<string> gold = character is null ? t.GoldAnswers : [character];
        var tokens = tokenizer.Encode(session.Measurer.Template.Render(messages, addGenerationPrompt: true), addSpecialTokens: false).Count;
        return new EvalItem(new GenerationRequest { Messages = messages, MaxNewTokens = o.MaxNewTokens }, gold,
            (response, _) => Task.FromResult(IsCorrect(o.Metric, response, gold) ? 100.0 : 0.0), prompt, tokens)
        {
            Details = () => new JsonObject { ["question_type"] = t.QuestionType, ["haystack"] = book.Name, ["character"] = character },
        };
    }

    /// <summary>_evaluate_response: EM = the stripped response is a gold answer; contains = a gold answer is a substring (case-sensitive); lastline_* on the last line.</summary>
    public static bool IsCorrect(NoLiMaMetric metric, string response, IReadOnlyList<string> gold)
    {
        var lastLine = PythonStrings.Strip(response).Split('\n')[^1];
        return metric switch
        {
            NoLiMaMetric.Em => gold.Contains(PythonStrings.Strip(response)),
            NoLiMaMetric.Contains => gold.Any(g => response.Contains(g, StringComparison.Ordinal)),
            NoLiMaMetric.LastLineEm => gold.Contains(lastLine),
            _ => gold.Any(g => lastLine.Contains(g, StringComparison.Ordinal)),
        };
    }

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))[..12];

    /// <summary>
    /// Accuracy per length over every record (a failed request counts as wrong). As NoLiMa's gather_results.ipynb, the
    /// headline leaves out question types named "direct" when others exist; every type has its own row.
    /// </summary>
    internal static void WriteReport(string runDir, RunManifest m, List<ResultRecord> records, StringBuilder md, JsonObject summary)
    {
        string Type(ResultRecord r) => r.Details?["question_type"]?.GetValue<string>() ?? r.Task[(r.Task.LastIndexOf('_') + 1)..];
        static double Points(ResultRecord r) => r.Error is null ? r.Score : 0;
        string F(double v) => double.IsNaN(v) ? "–" : v.ToString("0.0", CultureInfo.InvariantCulture);
        JsonNode? J(double v) => double.IsNaN(v) ? null : Math.Round(v, 2);
        var headline = records.Any(r => !Type(r).Contains("direct", StringComparison.OrdinalIgnoreCase))
            ? records.Where(r => !Type(r).Contains("direct", StringComparison.OrdinalIgnoreCase)).ToList() : records;
        var lengths = m.Lengths;
        double Acc(IEnumerable<ResultRecord> rs) => rs.Any() ? rs.Average(Points) : double.NaN;
        var perLength = lengths.Select(l => (Length: l, Score: Acc(headline.Where(r => r.Length == l)))).ToList();
        var baseLengths = perLength.Where(x => x.Length <= 1000 && !double.IsNaN(x.Score)).ToList();
        var baseScore = baseLengths.Count == 0 ? double.NaN : baseLengths.Average(x => x.Score);
        var threshold = baseScore * EffectiveFraction;
        var passing = perLength.Where(x => !double.IsNaN(x.Score) && x.Score >= threshold).Select(x => (int?)x.Length).DefaultIfEmpty(null).Max();

        md.AppendLine("## NoLiMa accuracy by context length (%)").AppendLine();
        md.AppendLine("| | " + string.Join(" | ", lengths) + " |").AppendLine("|---|" + string.Concat(lengths.Select(_ => "---|")));
        md.AppendLine("| **all" + (headline.Count < records.Count ? " (without direct)" : "") + "** | " + string.Join(" | ", perLength.Select(x => $"**{F(x.Score)}**")) + " |");
        var byType = new JsonObject();
        foreach (var g in records.GroupBy(Type).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var row = lengths.Select(l => Acc(g.Where(r => r.Length == l))).ToList();
            md.AppendLine($"| {g.Key} | " + string.Join(" | ", row.Select(F)) + " |");
            byType[g.Key] = new JsonObject(lengths.Zip(row).Select(x => KeyValuePair.Create(x.First.ToString(CultureInfo.InvariantCulture), J(x.Second))));
        }
        md.AppendLine().AppendLine($"- Base score (mean of lengths ≤ 1000 run): **{F(baseScore)}**; threshold (×{EffectiveFraction.ToString(CultureInfo.InvariantCulture)}): {F(threshold)}; effective length: **{(passing is int e ? e.ToString(CultureInfo.InvariantCulture) : double.IsNaN(baseScore) ? "– (no length ≤ 1000 run)" : $"< {lengths.Min()}")}**");
        md.AppendLine($"- Lengths are haystack tokens of the model's tokenizer (NoLiMa's 1K = 1000); failed requests: {records.Count(r => r.Error is not null)} (counted as wrong).");
        foreach (var t in m.Tasks) md.AppendLine($"- {t.Note}.");
        md.AppendLine("- Needle placement, seeds, template and metric follow adobe-research/NoLiMa (run_tests.py, async_evaluate.py, book_haystack.py at 7532e4e).").AppendLine();

        var depths = m.Depths ?? [];
        var grid = new double[depths.Count, lengths.Count];
        for (var d = 0; d < depths.Count; d++)
            for (var l = 0; l < lengths.Count; l++)
                grid[d, l] = Acc(headline.Where(r => r.Length == lengths[l] && r.Depth is double x && Math.Abs(x - depths[d]) < 1e-6));
        if (headline.Count > 0 && depths.Count > 0)
        {
            var (png, _) = Plots.NiahHeatmap(grid, depths, lengths, $"NoLiMa — {m.Backend}", Path.Combine(runDir, "nolima_heatmap"), "Accuracy %");
            md.AppendLine($"![heatmap]({Path.GetFileName(png)})");
            summary["heatmap_png"] = png;
        }
        summary["score"] = J(Acc(headline));
        summary["per_length"] = new JsonObject(perLength.Select(x => KeyValuePair.Create(x.Length.ToString(CultureInfo.InvariantCulture), J(x.Score))));
        summary["base_score"] = J(baseScore);
        summary["threshold"] = J(threshold);
        summary["effective_length"] = passing;
        summary["by_question_type"] = byType;
        summary["comparable"] = records.All(r => r.Error is null) && m.Tasks.All(t => t.Comparable);
    }
}
