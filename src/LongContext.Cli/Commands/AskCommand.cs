using System.CommandLine;
using LongContext.Core.Inference;
using LongContext.Eval.Backends;
using LongContext.Eval.Context;
using LongContext.Eval.Engine;
using LongContext.Formats.Config;
using LongContext.Formats.Tokenization;

namespace LongContext.Cli.Commands;

/// <summary>`longctx ask`: pack a repository (or a folder of documents) into the model's window and ask a question about it.</summary>
public static class AskCommand
{
    public sealed record FileEntry(string Path, string Language, string Kind, int Tokens, long Bytes);

    /// <summary>Everything --json prints: the pack report, plus the prompt (--files-only) or the answer.</summary>
    public sealed record Report
    {
        public required string Root { get; init; }
        public required string Mode { get; init; }
        public string? Question { get; init; }
        public required int ContextWindow { get; init; }
        public required string ContextWindowSource { get; init; }
        public required int MaxAnswerTokens { get; init; }
        public required int OverheadTokens { get; init; }
        public required int FileBudgetTokens { get; init; }
        public required int PromptTokens { get; init; }
        public required bool TokensExact { get; init; }
        public required string TokenCounter { get; init; }
        public required int IncludedCount { get; init; }
        public required int OmittedCount { get; init; }
        public required int SkippedCount { get; init; }
        public required int IncludedTokens { get; init; }
        public required int OmittedTokens { get; init; }
        public required IReadOnlyList<FileEntry> Included { get; init; }
        public required IReadOnlyList<FileEntry> Omitted { get; init; }
        public required IReadOnlyList<SkippedPath> Skipped { get; init; }
        public string? Prompt { get; init; }
        public string? Backend { get; init; }
        public string? Answer { get; init; }
        public bool? Streamed { get; init; }
        public int? CompletionTokens { get; init; }
        public string? FinishReason { get; init; }
    }

    public static Command Create()
    {
        var question = new Argument<string?>("question") { Description = "The question (optional with --files-only)", Arity = ArgumentArity.ZeroOrOne };
        var repo = new Option<string?>("--repo") { Description = "Repository folder to pack (honours .gitignore; skips vendored, generated, lock and binary files)" };
        var docs = new Option<string?>("--docs") { Description = "Folder of text documents to pack (instead of --repo)" };
        var model = new Option<string?>("--model") { Description = "Model folder, run in-process (its tokenizer and chat template size the prompt exactly)" };
        var endpoint = new Option<string?>("--endpoint") { Description = "OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (streams when the server does)" };
        var apiKey = new Option<string?>("--api-key") { Description = "API key for --endpoint (default: $OPENAI_API_KEY)" };
        var modelName = new Option<string>("--model-name") { Description = "The \"model\" field sent to --endpoint", DefaultValueFactory = _ => "default" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with the endpoint model's tokenizer.json (exact token counts; without it counts are estimated high)" };
        var maxContext = new Option<int?>("--max-context") { Description = "Context window in tokens (default: the model's max_position_embeddings, or what the endpoint's /models reports)" };
        var maxAnswer = new Option<int>("--max-answer-tokens") { Description = "Tokens kept free for the answer", DefaultValueFactory = _ => 1024 };
        var maxFileBytes = new Option<long>("--max-file-bytes") { Description = "Leave out files larger than this", DefaultValueFactory = _ => 256 * 1024 };
        var exclude = new Option<string[]>("--exclude") { Description = "Extra gitignore-style pattern to leave out (repeatable)", AllowMultipleArgumentsPerToken = false };
        var keepDir = new Option<string[]>("--keep-dir") { Description = "Descend into a folder name skipped by default (build, dist, vendor, ...; repeatable)", AllowMultipleArgumentsPerToken = false };
        var noGitignore = new Option<bool>("--no-gitignore") { Description = "Do not read .gitignore files or .git/info/exclude" };
        var filesOnly = new Option<bool>("--files-only") { Description = "Print the packed prompt and its token count instead of asking" };
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0.0 };
        var seed = new Option<long?>("--seed");
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the endpoint's answer", DefaultValueFactory = _ => 600 };
        var prefillChunk = new Option<int>("--prefill-chunk") { Description = "Prompt tokens per prefill step (local model)", DefaultValueFactory = _ => 4096 };

        var cmd = new Command("ask", "Ask a question about a whole repository (or folder of documents) packed into the model's context window.");
        cmd.Arguments.Add(question);
        foreach (var o in new Option[] { repo, docs, model, endpoint, apiKey, modelName, tokenizer, maxContext, maxAnswer, maxFileBytes, exclude, keepDir, noGitignore, filesOnly, device, dtype, temperature, seed, timeout, prefillChunk })
            cmd.Options.Add(o);

        cmd.SetHandler(async (p, ct) =>
        {
            var json = p.GetValue(CliCommon.Json);
            var onlyFiles = p.GetValue(filesOnly);
            var q = p.GetValue(question) ?? "";
            var (root, documents) = (p.GetValue(repo), p.GetValue(docs)) switch
            {
                ({ } r, null) => (r, false),
                (null, { } d) => (d, true),
                (null, null) => throw new AskException("Give --repo DIR (a code repository) or --docs DIR (a folder of documents)."),
                _ => throw new AskException("Give either --repo DIR or --docs DIR, not both."),
            };
            if (!onlyFiles && string.IsNullOrWhiteSpace(q)) throw new AskException("Give the question as an argument, e.g. longctx ask --repo . \"Where is the KV cache allocated?\" (or use --files-only).");
            var modelDir = p.GetValue(model);
            var url = p.GetValue(endpoint);
            if (modelDir is not null && url is not null) throw new AskException("Give either --model DIR or --endpoint URL, not both.");
            if (!onlyFiles && modelDir is null && url is null) throw new AskException("Give --model DIR (in-process) or --endpoint URL to answer, or --files-only to print the packed prompt.");

            EngineSession? session = null;
            OpenAiAnswerer? remote = null;
            try
            {
                PromptTokenCounter counter;
                int? window = p.GetValue(maxContext);
                var windowSource = window is null ? "" : "--max-context";
                if (modelDir is not null)
                {
                    // Tokenizer and config only: the weights load after packing, and not at all with --files-only.
                    var config = ModelConfigLoader.LoadFromDirectory(modelDir);
                    counter = PromptTokenCounter.FromHfTokenizer(HfTokenizer.Load(modelDir), Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDir))));
                    if (window is null) (window, windowSource) = (config.MaxPositionEmbeddings, "max_position_embeddings in config.json");
                }
                else
                {
                    var tokDir = p.GetValue(tokenizer);
                    counter = tokDir is null ? PromptTokenCounter.Estimate()
                        : PromptTokenCounter.FromHfTokenizer(HfTokenizer.Load(tokDir), Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(tokDir))), serverAppliesTemplate: true);
                    if (window is null && tokDir is not null && File.Exists(Path.Combine(tokDir, ModelConfigLoader.ConfigFileName)))
                        (window, windowSource) = (ModelConfigLoader.LoadFromDirectory(tokDir).MaxPositionEmbeddings, $"max_position_embeddings in {tokDir}/config.json");
                    if (url is not null)
                    {
                        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                            throw new AskException($"--endpoint {url}: not an http(s) URL; e.g. http://localhost:8000/v1.");
                        remote = new OpenAiAnswerer(new OpenAiHttpOptions
                        {
                            BaseUrl = uri,
                            ApiKey = p.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"),
                            Model = p.GetValue(modelName)!,
                            AttemptTimeout = TimeSpan.FromSeconds(p.GetValue(timeout)),
                        });
                        if (window is null && await remote.GetContextWindowAsync(ct) is int served)
                            (window, windowSource) = (served, "the endpoint's /models");
                    }
                    if (window is null)
                        throw new AskException(url is null
                            ? "Give --max-context N (the window in tokens), or --model DIR / --tokenizer DIR with a config.json."
                            : $"The endpoint's /models does not report a context window: give --max-context N (or --tokenizer DIR with the model's config.json).");
                }

                if (!json) Console.Error.WriteLine($"Scanning {root} …");
                var scan = RepoScanner.Scan(root, new ScanOptions
                {
                    UseGitIgnore = !p.GetValue(noGitignore),
                    Exclude = p.GetValue(exclude) ?? [],
                    KeepDirectories = p.GetValue(keepDir) ?? [],
                    MaxFileBytes = p.GetValue(maxFileBytes),
                    Documents = documents,
                });
                if (scan.Files.Count == 0)
                    throw new AskException($"{root}: no text files to pack ({scan.Skipped.Count} paths skipped; --json lists why). Check --exclude, --max-file-bytes or --keep-dir.");
                var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(scan.Root));
                if (!json) Console.Error.WriteLine($"Counting tokens of {scan.Files.Count} files ({counter.Describe}) …");
                var pack = ContextPacker.Pack(scan, q, counter, new PackOptions
                {
                    ContextWindow = window.Value,
                    MaxAnswerTokens = p.GetValue(maxAnswer),
                    Name = name,
                    Documents = documents,
                });
                var report = ToReport(scan.Root, documents, q, windowSource, pack);

                if (onlyFiles)
                {
                    if (json) CliCommon.WriteJson(report with { Prompt = pack.Prompt });
                    else
                    {
                        Console.Out.Write(pack.Prompt);
                        Console.Out.Flush();
                        PrintSummary(report);
                    }
                    return 0;
                }

                if (!json) PrintSummary(report);
                if (pack.Included.Count == 0) throw new AskException("No file fits the window: raise --max-context, lower --max-answer-tokens, or narrow the folder with --exclude.");
                if (modelDir is not null)
                {
                    if (!json) Console.Error.WriteLine($"Loading {modelDir} …");
                    session = EngineSession.Open(modelDir, p.GetValue(device)!, p.GetValue(dtype));
                }
                IAnswerer answerer = session is not null ? new EngineAnswerer(session, counter, p.GetValue(prefillChunk)) : remote!;
                var options = new AnswerOptions { MaxNewTokens = p.GetValue(maxAnswer), Temperature = p.GetValue(temperature), Seed = p.GetValue(seed) };
                var result = await answerer.AnswerAsync(pack.Prompt, options, piece =>
                {
                    if (json) return;
                    Console.Out.Write(piece);
                    Console.Out.Flush();
                }, ct);
                if (json)
                    CliCommon.WriteJson(report with
                    {
                        Backend = answerer.Describe, Answer = result.Text, Streamed = result.Streamed,
                        CompletionTokens = result.CompletionTokens, FinishReason = result.FinishReason,
                    });
                else
                {
                    Console.Out.WriteLine();
                    Console.Error.WriteLine($"[{answerer.Describe}: {result.CompletionTokens?.ToString() ?? "?"} answer tokens, finish: {result.FinishReason ?? "?"}{(result.Streamed ? "" : ", not streamed")}]");
                }
                return 0;
            }
            finally
            {
                session?.Dispose();
                remote?.Dispose();
            }
        });
        return cmd;
    }

    private static Report ToReport(string root, bool documents, string question, string windowSource, PackResult pack)
    {
        static FileEntry Entry(PackedFile f) => new(f.Path, f.Language, f.Kind.ToString().ToLowerInvariant(), f.Tokens, f.Bytes);
        return new Report
        {
            Root = root,
            Mode = documents ? "docs" : "repo",
            Question = string.IsNullOrWhiteSpace(question) ? null : question,
            ContextWindow = pack.ContextWindow,
            ContextWindowSource = windowSource,
            MaxAnswerTokens = pack.MaxAnswerTokens,
            OverheadTokens = pack.OverheadTokens,
            FileBudgetTokens = pack.FileBudgetTokens,
            PromptTokens = pack.PromptTokens,
            TokensExact = pack.TokensExact,
            TokenCounter = pack.TokenCounter,
            IncludedCount = pack.Included.Count,
            OmittedCount = pack.Omitted.Count,
            SkippedCount = pack.Skipped.Count,
            IncludedTokens = pack.IncludedTokens,
            OmittedTokens = pack.OmittedTokens,
            Included = pack.Included.Select(Entry).ToList(),
            Omitted = pack.Omitted.Select(Entry).ToList(),
            Skipped = pack.Skipped,
        };
    }

    /// <summary>The human report, on stderr so stdout carries only the prompt or the answer.</summary>
    private static void PrintSummary(Report r)
    {
        var err = Console.Error;
        var estimate = r.TokensExact ? "" : " (ESTIMATED: no tokenizer; give --tokenizer DIR for exact counts)";
        err.WriteLine($"Packed {r.IncludedCount} of {r.IncludedCount + r.OmittedCount} text files from {r.Root}: {r.PromptTokens:N0} prompt tokens{estimate}");
        err.WriteLine($"  window {r.ContextWindow:N0} ({r.ContextWindowSource}) = answer {r.MaxAnswerTokens:N0} + question/template {r.OverheadTokens:N0} + files ≤ {r.FileBudgetTokens:N0}; files use {r.IncludedTokens:N0}");
        err.WriteLine($"  tokens counted with {r.TokenCounter}");
        if (r.OmittedCount > 0)
        {
            err.WriteLine($"  left out to fit the window: {r.OmittedCount} files, {r.OmittedTokens:N0} tokens (lowest priority and largest first):");
            foreach (var f in r.Omitted.Take(50)) err.WriteLine($"    {f.Path} ({f.Kind}, {f.Tokens:N0} tokens)");
            if (r.OmittedCount > 50) err.WriteLine($"    … and {r.OmittedCount - 50} more (--json lists all)");
        }
        if (r.SkippedCount > 0)
        {
            var reasons = r.Skipped.GroupBy(s => s.Reason.Split(" (")[0]).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Count()} {g.Key}");
            err.WriteLine($"  skipped {r.SkippedCount} paths: {string.Join(", ", reasons)} (--json lists them)");
        }
    }
}
