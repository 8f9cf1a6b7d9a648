using LongContext.Core.Inference;
using LongContext.Eval.Backends;
using LongContext.Eval.Niah;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;
using LongContext.Eval.Text;

namespace LongContext.Eval.Engine;

/// <summary>
/// A small single-needle NIAH at one length on the in-process engine — the same suite, runner and report as
/// `longctx eval niah --model DIR`, for checking a model right after training (e.g. each `longctx extend` stage).
/// The run folder resumes like the eval command's.
/// </summary>
public static class NiahQuickCheck
{
    /// <summary>Scores <paramref name="modelDir"/> at <paramref name="length"/> tokens over <paramref name="depths"/> needle depths; returns the mean score (0–100, as `eval niah` reports it).</summary>
    public static async Task<double?> RunAsync(string modelDir, int length, int depths, string outDir, string device = "auto", string? dtype = null,
        int maxNewTokens = 16, int seed = 42, CancellationToken ct = default)
    {
        var options = new NiahOptions { Lengths = [length], DepthCount = depths, Seed = seed, MaxNewTokens = maxNewTokens };
        using var generator = new EngineLocalGenerator(EngineSession.Open(modelDir, device, dtype));
        var backend = new LocalBackend(generator);
        var session = new EvalSession(backend, new PromptMeasurer(generator.Tokenizer, generator.ChatTemplate, PrefixPlacement.AssistantTurn), generator.ModelId);
        var (manifest, plans) = NiahSuite.Plan(options, new NoiseHaystack(seed), WordPool.Generated(5000, seed), session);
        manifest.Write(outDir);
        var runner = new EvalRunner(backend, new ResultStore(outDir), manifest.ConfigHash, concurrency: 1);
        var outcome = await runner.RunAsync(plans, null, ct);
        if (outcome.Completed + outcome.Skipped == 0 && outcome.Failed > 0)
        {
            var first = ResultStore.Read(outDir).FirstOrDefault(r => r.Error is not null && r.ConfigHash == manifest.ConfigHash)?.Error;
            throw new EvalException($"NIAH at {length} tokens: every item failed; first error: {first}");
        }
        var summary = RunReport.Write(outDir);
        return summary["score"]?.GetValue<double>();
    }
}
