using System.Text.Json.Nodes;
using LongContext.Cli;
using LongContext.Eval.Backends;
using LongContext.Eval.Engine;
using LongContext.Eval.Runs;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Eval;

/// <summary>
/// `longctx eval ruler|niah --model DIR` through the CLI entry point on the in-process engine (CPU, the tiny random
/// fixture model): the machinery end to end — reports, plots, JSONL, and resume after a kill. The random model scores
/// about 0; scores are not checked.
/// </summary>
public class EvalInProcessEndToEndTests
{
    internal static readonly string Hf = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf");

    /// <summary>config + weights of the tiny llama fixture and the fixture tokenizer in one folder, as a user's model folder.</summary>
    internal static string ModelDir()
    {
        var dir = EvalFixtures.TempDir("model");
        foreach (var f in new[] { "config.json", "model.safetensors", "generation_config.json" })
            File.Copy(Path.Combine(Hf, "models", "llama_default", f), Path.Combine(dir, f));
        foreach (var f in Directory.GetFiles(Path.Combine(Hf, "tokenizer")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    /// <summary>Counts generations and can cancel the run when the n-th one starts (before it computes anything).</summary>
    internal sealed class CountingGenerator(ILocalGenerator inner, Action<int>? onStart) : ILocalGenerator, IDisposable
    {
        public int Calls;
        /// <summary>The token ids of every prompt, in call order.</summary>
        public List<IReadOnlyList<int>> Prompts { get; } = [];
        public ITextTokenizer Tokenizer => inner.Tokenizer;
        public IChatTemplate ChatTemplate => inner.ChatTemplate;
        public int? MaxSequenceLength => inner.MaxSequenceLength;
        public string ModelId => inner.ModelId;

        public IReadOnlyList<int> Generate(IReadOnlyList<int> promptIds, int maxNewTokens, IReadOnlyCollection<int> stopIds, CancellationToken ct)
        {
            onStart?.Invoke(Interlocked.Increment(ref Calls));
            lock (Prompts) Prompts.Add(promptIds);
            return inner.Generate(promptIds, maxNewTokens, stopIds, ct);
        }

        public void Dispose() => (inner as IDisposable)?.Dispose();
    }

    /// <summary>The engine's backends (as the CLI builds them) with the generator wrapped in a counter; runs the body, then disposes the generators.</summary>
    internal static async Task<T> WithEngine<T>(Func<EvalBackends, List<CountingGenerator>, Action<Action<int>?>, Task<T>> body)
    {
        var engine = EngineLocalGenerator.Backends("cpu");
        var made = new List<CountingGenerator>();
        Action<int>? onStart = null;
        var backends = engine with { Local = dir => { var g = new CountingGenerator(engine.Local(dir), n => onStart?.Invoke(n)); made.Add(g); return g; } };
        try { return await body(backends, made, a => onStart = a); }
        finally { foreach (var g in made) g.Dispose(); }
    }

    [Fact]
    public void Model_id_names_the_folder_and_changes_with_the_weights_not_the_path()
    {
        var a = ModelDir();
        var b = Path.Combine(EvalFixtures.TempDir("other"), Path.GetFileName(a));
        Directory.CreateDirectory(b);
        foreach (var f in Directory.GetFiles(a)) File.Copy(f, Path.Combine(b, Path.GetFileName(f)));
        var id = EngineLocalGenerator.Fingerprint(a);
        Assert.StartsWith(Path.GetFileName(a) + "@", id);
        Assert.Equal(id, EngineLocalGenerator.Fingerprint(b));

        // A fine-tuned checkpoint: same config and tensor layout, one weight changed at the end of the file.
        var weights = Path.Combine(b, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(weights, bytes);
        Assert.NotEqual(id, EngineLocalGenerator.Fingerprint(b));
    }

    [Fact]
    public async Task Ruler_on_the_in_process_engine_writes_report_plot_and_jsonl()
    {
        var model = ModelDir();
        var dir = EvalFixtures.TempDir("ruler-local");
        // Not vt or cwe: with this 600-token fixture vocabulary (2.3x Llama-3's tokens) their one-shot examples alone fill 1K.
        string[] args = ["eval", "ruler", "--model", model, "--lengths", "1k", "--samples", "1", "--tasks", "niah_single_1,niah_multikey_2,fwe", "--out", dir, "--json"];
        var made = await WithEngine(async (backends, made, _) =>
        {
            var run = await EvalCli.Run(backends, args);
            Assert.True(run.Code == 0, run.Err);
            return made;
        });
        Assert.Equal(3, made.Sum(g => g.Calls));

        var records = ResultStore.Read(dir);
        Assert.Equal(["fwe", "niah_multikey_2", "niah_single_1"], records.Select(r => r.Task).Order());
        Assert.All(records, r =>
        {
            Assert.Null(r.Error);
            Assert.Equal("assistant_turn", r.PrefixPlacement);
            Assert.InRange(r.PromptTokens!.Value, 600, 1024);                       // fitted to the 1K budget with the model's tokenizer
            Assert.Equal(r.PromptTokens, r.ServerPromptTokens);                       // the measurer and the engine see the same tokens
            Assert.True(r.CompletionTokens > 0);
            Assert.NotNull(r.Prediction);
        });
        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("| niah_single_1 |", report);
        Assert.Contains($"local:{Path.GetFileName(model)}@", report);
        Assert.True(new FileInfo(Path.Combine(dir, "ruler_scores.png")).Length > 1000);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        Assert.Equal(3, summary["tasks"]!.AsObject().Count);
    }

    [Fact]
    public async Task Niah_on_the_in_process_engine_resumes_after_a_kill_without_recomputing_finished_items()
    {
        var model = ModelDir();
        var dir = EvalFixtures.TempDir("niah-local-kill");
        string[] args = ["eval", "niah", "--model", model, "--lengths", "768,1k", "--depths", "3", "--max-new-tokens", "8", "--concurrency", "1", "--out", dir, "--json"];
        const int total = 6;
        await WithEngine(async (backends, made, setOnStart) =>
        {
            using var cts = new CancellationTokenSource();
            setOnStart(n => { if (n == 4) cts.Cancel(); });             // the kill lands when the 4th item starts: 3 are finished
            Assert.Equal(130, (await EvalCli.Run(backends, args, cts.Token)).Code);
            var firstLines = File.ReadAllLines(Path.Combine(dir, ResultStore.FileName));
            Assert.Equal(3, firstLines.Length);
            var firstKeys = ResultStore.Read(dir).Select(r => r.Key).ToHashSet();
            Assert.Equal(3, firstKeys.Count);
            Assert.False(File.Exists(Path.Combine(dir, "report.md")));

            setOnStart(null);
            Assert.Equal(0, (await EvalCli.Run(backends, args)).Code);
            Assert.Equal(2, made.Count);
            Assert.Equal(total - 3, made[1].Calls);                          // only the unfinished items ran again

            var lines = File.ReadAllLines(Path.Combine(dir, ResultStore.FileName));
            Assert.Equal(total, lines.Length);                                 // appended, no duplicates
            Assert.Equal(firstLines, lines[..3]);                              // finished records untouched
            var records = ResultStore.Read(dir);
            Assert.Equal(total, records.Select(r => r.Key).Distinct().Count());
            Assert.Empty(firstKeys.Intersect(lines[3..].Select(l => JsonNode.Parse(l)!["key"]!.GetValue<string>())));
            Assert.All(records, r => { Assert.Null(r.Error); Assert.Equal("assistant_turn", r.PrefixPlacement); Assert.InRange(r.PromptTokens!.Value, 500, r.Length - 8); });
            Assert.Equal([768, 1024], records.Select(r => r.Length).Distinct().Order());
            return 0;
        });

        Assert.Contains("niah_heatmap.png", File.ReadAllText(Path.Combine(dir, "report.md")));
        var png = File.ReadAllBytes(Path.Combine(dir, "niah_heatmap.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.True(File.Exists(Path.Combine(dir, "summary.json")));
    }
}
