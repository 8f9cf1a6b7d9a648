using System.Globalization;
using LongContext.Formats.Config;
using LongContext.Formats;

namespace LongContext.Training.Plan;

/// <summary>
/// Plans a progressive context extension: per stage θ, tokens, steps, memory per GPU and time. Pure arithmetic,
/// no I/O; docs/plan.md derives every number.
/// </summary>
public static class ContextPlanner
{
    private const double GiB = 1L << 30;

    public static ContextPlan Plan(PlanRequest request)
    {
        var model = request.Model;
        var gpus = request.Gpus;
        if (!(request.Mfu > 0 && request.Mfu <= 1)) throw new ConfigException($"--mfu {request.Mfu.ToString(CultureInfo.InvariantCulture)} must be in (0, 1], e.g. 0.4.");
        if (!(request.LearningRate > 0)) throw new ConfigException("--lr must be positive.");
        if (request.BatchSequences is < 1) throw new ConfigException($"--batch {request.BatchSequences} must be at least 1 sequence.");
        if (request.LmHeadChunkTokens < 1) throw new ConfigException("LM-head chunk must be at least 1 token.");

        long native = request.NativeLength ?? model.MaxPositionEmbeddings;
        var lengths = request.Stages is { } given
            ? StageSchedule.Validate(given, native, request.Target)
            : StageSchedule.Default(native, request.Target ?? throw new ConfigException("Give --target (e.g. 1M) or --stages (e.g. 64K,256K,1M)."));
        var baseline = RopeBaseline.From(model);
        var thetas = request.Theta.ThetasFor(baseline, lengths);
        var tokens = StageTokens(request.TokensPerStage, lengths);

        var warnings = new List<string>();
        var stages = new List<StagePlan>();
        for (int k = 0; k < lengths.Count; k++)
        {
            long length = lengths[k];
            // Default batch: Gradient's, but never more sequences per step than the stage has (at least one step).
            int batch = request.BatchSequences
                ?? (int)Math.Min(GradientRecipe.DefaultBatchSequences(length), Math.Max(1, tokens[k] / length));
            var layout = ChooseLayout(request, length, batch, warnings, k + 1);
            var memory = MemoryModel.Estimate(model, length, layout);
            bool fits = memory.Total <= gpus.Gpu.MemoryBytes;

            int dp = layout.DataParallel;
            int accum = (batch + dp - 1) / dp;
            if (batch % dp != 0)
                warnings.Add($"Stage {k + 1} ({ContextLength.Format(length)}): batch {batch} is not a multiple of the {dp} data-parallel rings; the last micro-step leaves rings idle.");
            long tokensPerStep = length * batch;
            long steps = Math.Max(1, (tokens[k] + tokensPerStep - 1) / tokensPerStep);
            long planned = steps * tokensPerStep;

            double flopsPerToken = FlopModel.TrainingFlopsPerToken(model, length);
            double flops = planned * flopsPerToken;
            // Each sequence runs on one ring of `Ring` GPUs; rings run side by side; `accum` rounds per step.
            double secondsPerStep = accum * (length * flopsPerToken) / (layout.Ring * gpus.Gpu.PeakBf16Flops * request.Mfu);
            double seconds = steps * secondsPerStep;
            long kvTotal = ModelMath.KvCacheBytesPerToken(model) * length;

            stages.Add(new StagePlan(
                Index: k + 1,
                Length: length,
                Theta: thetas[k],
                RopeType: "default",
                Tokens: planned,
                BatchSequences: batch,
                Steps: steps,
                GradAccum: accum,
                LearningRate: request.LearningRate,
                Ring: layout.Ring,
                DataParallel: dp,
                Memory: memory,
                Fits: fits,
                EvalKvCacheBytes: kvTotal,
                EvalKvCachePerGpuBytes: kvTotal / layout.Ring,
                FlopsPerToken: flopsPerToken,
                Flops: flops,
                TimeSeconds: seconds,
                GpuHours: seconds * gpus.Count / 3600.0));
        }

        var totals = new PlanTotals(
            Tokens: stages.Sum(s => s.Tokens),
            Steps: stages.Sum(s => s.Steps),
            Flops: stages.Sum(s => s.Flops),
            TimeSeconds: stages.Sum(s => s.TimeSeconds),
            GpuHours: stages.Sum(s => s.GpuHours),
            AllFit: stages.All(s => s.Fits));

        var planModel = new PlanModel(request.ModelName, model.ModelType, ModelMath.ParameterCount(model), ModelMath.MatmulParameterCount(model),
            model.NumHiddenLayers, model.HiddenSize, model.NumAttentionHeads, model.NumKeyValueHeads, model.HeadDim, model.VocabSize,
            native, baseline.TrainedLength, model.Rope.RopeTheta, model.Rope.RopeType);
        var planGpus = new PlanGpus(gpus.Count, gpus.Gpu.Name, gpus.Gpu.MemoryBytes, gpus.Gpu.PeakBf16Flops);
        var planLayout = new PlanLayout($"zero{request.Zero}", request.Ring, "per-layer", 1, request.LmHeadChunkTokens, request.OffloadOptimizer,
            request.Mfu, request.Theta.ToString(), "bf16 weights/grads/activations, fp32 master + Adam m,v");
        return new ContextPlan(planModel, planGpus, planLayout, stages, totals, warnings, Notes(request, baseline));
    }

    /// <summary>
    /// The stage's layout: the requested ring, or else the smallest valid ring that fits in memory and leaves no
    /// ring idle (data-parallel degree ≤ batch); warns with a suggestion when nothing fits.
    /// </summary>
    private static TrainingLayout ChooseLayout(PlanRequest request, long length, int batch, List<string> warnings, int stage)
    {
        var gpus = request.Gpus;
        TrainingLayout Make(int gpuCount, int ring) => new(gpuCount, ring)
        {
            OffloadOptimizer = request.OffloadOptimizer,
            Zero = request.Zero,
            LmHeadChunkTokens = request.LmHeadChunkTokens,
        };
        var candidates = ValidRings(gpus.Count, length).Select(r => Make(gpus.Count, r)).ToList();
        var busy = candidates.Where(l => l.DataParallel <= batch).ToList();
        if (request.Ring is null && busy.Count > 0) candidates = busy;
        var fitting = candidates.FirstOrDefault(l => MemoryModel.Estimate(request.Model, length, l).Total <= gpus.Gpu.MemoryBytes);
        string where = $"Stage {stage} ({ContextLength.Format(length)})";

        TrainingLayout chosen;
        if (request.Ring is { } ring)
        {
            chosen = Make(gpus.Count, ring);
            chosen.Validate(length);
            long total = MemoryModel.Estimate(request.Model, length, chosen).Total;
            if (total <= gpus.Gpu.MemoryBytes) return chosen;
            warnings.Add(fitting is not null
                ? $"{where}: {Gib(total)} per GPU at ring {ring} exceeds {gpus.Gpu.Name}'s {Gib(gpus.Gpu.MemoryBytes)}; the smallest ring that fits is {fitting.Ring} ({Gib(MemoryModel.Estimate(request.Model, length, fitting).Total)}): use --ring {fitting.Ring}."
                : $"{where}: {Gib(total)} per GPU at ring {ring} exceeds {gpus.Gpu.Name}'s {Gib(gpus.Gpu.MemoryBytes)} and no ring size on {gpus} fits. {MoreGpus(request, length)}");
            return chosen;
        }
        if (fitting is not null) return fitting;
        chosen = candidates[^1];
        warnings.Add($"{where}: even the largest ring ({chosen.Ring}) needs {Gib(MemoryModel.Estimate(request.Model, length, chosen).Total)} per GPU, over {gpus.Gpu.Name}'s {Gib(gpus.Gpu.MemoryBytes)}. {MoreGpus(request, length)}");
        return chosen;
    }

    /// <summary>Ring sizes that divide the GPU count and allow the zigzag split, smallest first.</summary>
    private static IEnumerable<int> ValidRings(int gpuCount, long length) =>
        Enumerable.Range(1, gpuCount).Where(r => new TrainingLayout(gpuCount, r).IsValidFor(length));

    /// <summary>The smallest cluster (GPU count doubled up to 4096×) whose smallest fitting ring holds the stage.</summary>
    private static string MoreGpus(PlanRequest request, long length)
    {
        var gpu = request.Gpus.Gpu;
        for (long count = request.Gpus.Count * 2L; count <= request.Gpus.Count * 4096L && count <= 1 << 20; count *= 2)
        {
            foreach (int ring in ValidRings((int)count, length).Where(r => r <= 4096))
            {
                var layout = new TrainingLayout((int)count, ring) { OffloadOptimizer = request.OffloadOptimizer, LmHeadChunkTokens = request.LmHeadChunkTokens, Zero = request.Zero };
                if (MemoryModel.Estimate(request.Model, length, layout).Total <= gpu.MemoryBytes)
                    return $"It fits on {count}x{gpu.Name} with --ring {ring}" + (request.OffloadOptimizer ? "." : ", or try --offload-optimizer.");
            }
        }
        return request.OffloadOptimizer ? "No cluster up to 4096x this size fits." : "Try --offload-optimizer.";
    }

    private static IReadOnlyList<long> StageTokens(IReadOnlyList<long>? given, IReadOnlyList<long> lengths)
    {
        if (given is null) return lengths.Select(GradientRecipe.DefaultTokens).ToArray();
        if (given.Count == 1) return lengths.Select(_ => given[0]).ToArray();
        if (given.Count != lengths.Count)
            throw new ConfigException($"--tokens-per-stage gives {given.Count} values for {lengths.Count} stages; give one value for all stages or one per stage.");
        return given;
    }

    private static IReadOnlyList<string> Notes(PlanRequest request, RopeBaseline baseline)
    {
        var notes = new List<string>
        {
            $"Time = model FLOPs (6·N + 6·layers·heads·head_dim·L per token, causal) / (GPUs × {request.Gpus.Gpu.Name} peak {request.Gpus.Gpu.PeakBf16Flops / 1e12:0.#} TFLOP/s bf16 × MFU {request.Mfu:0.##}).",
            $"Layout: zigzag ring attention over `ring` GPUs per sequence, data parallel across rings, the whole bf16 model on every GPU, ZeRO-{request.Zero} over all GPUs (run with --zero {request.Zero}); one sequence per ring per micro-step. "
                + (request.Ring is { } r ? $"Ring {r} as requested." : "Ring per stage: the smallest that fits in memory with no more rings than sequences per step."),
            "Memory: bf16 weights, gradients (bf16 whole, or an fp32 shard with ZeRO-2), fp32 master + Adam m,v (sharded), data-parallel buckets, per-layer activation checkpoints, one layer's recompute set, ring buffers, chunked LM head, 2 GiB reserve; flash attention (no L×L).",
            $"θ rule {request.Theta} from θ₀ = {baseline.Theta0.ToString("R", CultureInfo.InvariantCulture)} trained at {ContextLength.Format(baseline.TrainedLength)}; stages use plain RoPE (rope_type default) with that θ.",
            "Eval KV cache: bf16 K and V for the stage length (total, and per GPU when split over the ring).",
        };
        if (request.Model.Rope.RopeType != "default")
            notes.Add($"The model's `{request.Model.Rope.RopeType}` RoPE scaling is replaced by plain RoPE with the planned θ (T_train = original_max_position_embeddings).");
        return notes;
    }

    private static string Gib(long bytes) => $"{bytes / GiB:0.0} GiB";
}
