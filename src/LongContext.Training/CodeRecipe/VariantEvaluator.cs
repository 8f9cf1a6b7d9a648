using System.Diagnostics;
using LongContext.Core.Inference;
using LongContext.Eval.Backends;
using LongContext.Eval.Engine;
using LongContext.Eval.Passkey;
using LongContext.Eval.Perplexity;
using LongContext.Eval.Reports;
using LongContext.Eval.Ruler;
using LongContext.Eval.Runs;

namespace LongContext.Training.CodeRecipe;

/// <summary>What one model variant scored.</summary>
public sealed record VariantScores
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required string ModelDir { get; init; }
    /// <summary>Passkey accuracy (%) per length, mean over depths.</summary>
    public SortedDictionary<int, double> PasskeyByLength { get; init; } = [];
    /// <summary>(depth, length) → accuracy (%).</summary>
    public List<(double Depth, int Length, double Score)> PasskeyCells { get; init; } = [];
    /// <summary>Loss and perplexity per position bucket on held-out package documents.</summary>
    public List<PerplexityBucket> PerplexityByPosition { get; init; } = [];
    /// <summary>RULER score per (task, length).</summary>
    public List<(string Task, int Length, double Score)> Ruler { get; init; } = [];
    public double Seconds { get; set; }
    public List<string> Notes { get; init; } = [];
}

/// <summary>
/// Evaluates a model folder with the project's own suites, into OUT/eval/&lt;variant&gt;/: `eval passkey` (raw completion,
/// exact match of the first number), `eval perplexity` by position over held-out documents, and the RULER tasks that need
/// no downloaded data (base template, since the model is not chat-tuned). Each suite keeps its run folder, report.md
/// and plots, so any cell can be rerun with the `longctx eval` command it corresponds to. Models open on
/// <paramref name="device"/> (the recipe's), not through the CLI's factories.
/// </summary>
public sealed class VariantEvaluator(string evalRoot, string device)
{
    public sealed record Grid(IReadOnlyList<int> PasskeyLengths, int Depths, int Samples, int PerplexityLength, int PerplexityDocuments,
        IReadOnlyList<string> RulerTasks, IReadOnlyList<int> RulerLengths, int RulerSamples);

    public async Task<VariantScores> EvaluateAsync(string name, string description, string modelDir, Grid grid,
        IReadOnlyList<PerplexityDocument> documents, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var scores = new VariantScores { Name = name, Description = description, ModelDir = modelDir };
        var root = Path.Combine(evalRoot, name);
        if (grid.PasskeyLengths.Count > 0 || grid.RulerTasks.Count > 0)
        {
            using var local = new EngineLocalGenerator(EngineSession.Open(modelDir, device));
            var backend = new LocalBackend(local);
            var session = new EvalSession(backend, new PromptMeasurer(local.Tokenizer, ChatTemplates.Base, PrefixPlacement.AssistantTurn), local.ModelId);
            if (grid.PasskeyLengths.Count > 0)
            {
                var dir = Path.Combine(root, "passkey");
                var (manifest, plans) = PasskeySuite.Plan(new PasskeyOptions { Lengths = grid.PasskeyLengths, DepthCount = grid.Depths, Samples = grid.Samples, Seed = 42 }, session);
                foreach (var r in await RunAsync(dir, backend, manifest, plans, ct))
                    scores.PasskeyCells.Add((r.Depth ?? 0, r.Length, r.Score));
                foreach (var g in scores.PasskeyCells.GroupBy(c => c.Length)) scores.PasskeyByLength[g.Key] = g.Average(c => c.Score);
            }
            if (grid.RulerTasks.Count > 0 && grid.RulerLengths.Count > 0)
            {
                var data = RulerData.Load(null, null, null, null);
                // One run folder per task and length: a task whose template does not fit a length is noted, the others still run.
                foreach (var task in grid.RulerTasks)
                    foreach (var length in grid.RulerLengths)
                    {
                        var dir = Path.Combine(root, "ruler", $"{task}_{length}");
                        try
                        {
                            var (manifest, plans) = RulerSuite.Plan(new RulerOptions { Lengths = [length], Samples = grid.RulerSamples, Tasks = [task] }, data, session);
                            var records = await RunAsync(dir, backend, manifest, plans, ct);
                            if (records.Count > 0) scores.Ruler.Add((task, length, records.Average(r => r.Score)));
                        }
                        catch (Eval.EvalException e)
                        {
                            scores.Notes.Add($"RULER {task} at {length}: {e.Message}");
                        }
                    }
            }
        }
        if (grid.PerplexityDocuments > 0 && documents.Count > 0)
        {
            var dir = Path.Combine(root, "perplexity");
            using var scorer = new EngineTokenLossScorer(EngineSession.Open(modelDir, device));
            var options = new PerplexityOptions { Length = grid.PerplexityLength, Documents = grid.PerplexityDocuments, BucketSize = Math.Max(1, grid.PerplexityLength / 64) };
            PerplexitySuite.Run(scorer, documents, options, "held-out packages", dir, ct: ct);
            var manifest = RunManifest.Read(dir);
            PerplexityReport.Write(dir, manifest);
            foreach (var b in PerplexityReport.Aggregate(PerplexityReport.Records(dir, manifest)))
                if (b.Tokens > 0) scores.PerplexityByPosition.Add(b);
        }
        scores.Seconds = clock.Elapsed.TotalSeconds;
        return scores;
    }

    static async Task<List<ResultRecord>> RunAsync(string dir, IGenerationBackend backend, RunManifest manifest, List<EvalItemPlan> plans, CancellationToken ct)
    {
        manifest.Write(dir);
        var store = new ResultStore(dir);
        await new EvalRunner(backend, store, manifest.ConfigHash, 1).RunAsync(plans, null, ct);
        RunReport.Write(dir);
        return ResultStore.Read(dir).Where(r => r.ConfigHash == manifest.ConfigHash && r.Error is null).ToList();
    }
}
