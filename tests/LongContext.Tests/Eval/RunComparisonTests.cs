using LongContext.Eval;
using LongContext.Eval.Backends;
using LongContext.Eval.Compare;
using LongContext.Eval.Passkey;
using LongContext.Eval.Perplexity;
using LongContext.Eval.Runs;
using SkiaSharp;

namespace LongContext.Tests.Eval;

public class RunComparisonTests
{
    /// <summary>Answers the key everywhere (an extended model) or like PasskeyReader (fails mid-depth on long prompts).</summary>
    sealed class Backend(bool perfect) : IGenerationBackend
    {
        public string Describe => perfect ? "extended" : "base";
        public PrefixPlacement PrefixPlacement => PrefixPlacement.AssistantTurn;
        public Task<GenerationResult> GenerateAsync(GenerationRequest req, CancellationToken ct) =>
            Task.FromResult(new GenerationResult(perfect ? " " + System.Text.RegularExpressions.Regex.Match(req.Prompt!, @"pass key is (\d+)").Groups[1].Value : PasskeyTests.PasskeyReader.Answer(req.Prompt!), PrefixPlacement));
    }

    static async Task<string> PasskeyRun(bool perfect)
    {
        var dir = EvalFixtures.TempDir("cmp-passkey");
        var backend = new Backend(perfect);
        var session = new EvalSession(backend, new PromptMeasurer(new TestTokenizer(), LongContext.Eval.Backends.ChatTemplates.Base, PrefixPlacement.AssistantTurn), "t");
        var (manifest, plans) = PasskeySuite.Plan(new PasskeyOptions { Lengths = [512, 4096], DepthCount = 3, Samples = 1 }, session);
        manifest.Write(dir);
        await new EvalRunner(backend, new ResultStore(dir), manifest.ConfigHash, 2).RunAsync(plans, null, default);
        return dir;
    }

    [Fact]
    public async Task Passkey_runs_side_by_side_with_deltas_curves_and_heatmaps_in_one_png()
    {
        var (a, b) = (await PasskeyRun(perfect: false), await PasskeyRun(perfect: true));
        var outDir = EvalFixtures.TempDir("cmp-out");
        var (code, stdout, stderr) = await EvalCli.Run(EvalCli.Http(), ["eval", "compare", a, b, "--labels", "base,stage1", "--out", outDir, "--json"]);
        Assert.True(code == 0, stderr);
        var json = CliRun.LastJson(stdout);
        Assert.Equal("passkey", json.GetProperty("suite").GetString());
        var md = File.ReadAllText(Path.Combine(outDir, "compare.md"));
        Assert.Contains("| length | base | stage1 | Δ stage1 |", md);
        Assert.Contains("| 4K | 66.7 | 100.0 | +33.3 |", md);
        Assert.Contains("### Δ stage1 − base by depth × length", md);
        Assert.Contains("| 50% | 0.0 | +100.0 |", md);
        using var heatmaps = SKBitmap.Decode(Path.Combine(outDir, "compare_heatmaps.png"));
        using var one = SKBitmap.Decode(Path.Combine(a, "passkey_heatmap.png"));
        Assert.Equal(2 * one.Width, heatmaps.Width);
        Assert.True(new FileInfo(Path.Combine(outDir, "compare_scores.png")).Length > 1000);
    }

    [Fact]
    public void Perplexity_runs_compare_loss_per_bucket()
    {
        PerplexityDocument[] docs = [new("a", string.Join(' ', Enumerable.Range(0, 40).Select(i => $"w{i}")))];
        var scorer = new PerplexityByPositionTests.ContextLengthScorer();
        var full = EvalFixtures.TempDir("cmp-ppl-full");
        var sliding = EvalFixtures.TempDir("cmp-ppl-sliding");
        PerplexitySuite.Run(scorer, docs, new PerplexityOptions { Length = 64, BucketSize = 16 }, "d", full);
        PerplexitySuite.Run(scorer, docs, new PerplexityOptions { Length = 64, BucketSize = 16, Window = 16, Stride = 8 }, "d", sliding);
        var outDir = EvalFixtures.TempDir("cmp-ppl-out");
        RunComparison.Write([full, sliding], ["full", "sliding"], outDir);
        var md = File.ReadAllText(Path.Combine(outDir, "compare.md"));
        Assert.Contains("| 0–16 | 8.000 | 8.000 | 0.000 |", md);                // positions 1..15: same context either way
        Assert.Contains("| 48–64 | 55.500 | 11.500 | -44.000 |", md);          // positions 48..63: full prefix vs at most 15 tokens
        Assert.Contains("| sliding | sliding 16/8 |", md);
        Assert.True(new FileInfo(Path.Combine(outDir, "compare_loss.png")).Length > 1000);
    }

    [Fact]
    public async Task Runs_of_different_suites_are_refused()
    {
        var passkey = await PasskeyRun(perfect: true);
        var ppl = EvalFixtures.TempDir("cmp-mixed");
        PerplexitySuite.Run(new PerplexityByPositionTests.ContextLengthScorer(), [new PerplexityDocument("a", "x y z w")], new PerplexityOptions { Length = 4 }, "d", ppl);
        var e = Assert.Throws<EvalException>(() => RunComparison.Write([passkey, ppl], null, EvalFixtures.TempDir("cmp-mixed-out")));
        Assert.Contains("compare runs of one suite", e.Message);
    }
}
