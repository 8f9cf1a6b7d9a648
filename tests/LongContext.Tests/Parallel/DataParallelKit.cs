using LongContext.Core.Attention;
using LongContext.Parallel.DataParallel;
using LongContext.Parallel.Distributed;
using LongContext.Parallel.Distributed.Store;
using LongContext.Tests.Training;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Topology;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TrainingTestKit;

namespace LongContext.Tests.Parallel;

/// <summary>Data-parallel trainers on thread ranks (one model and one data source per rank, one run folder), and the single-process runs they must equal.</summary>
internal static class DataParallelKit
{
    public static readonly IAttentionBackend Sdpa = new SdpaAttentionBackend();

    /// <summary>Small buckets, so the tiny model spreads over several and the overlap path runs.</summary>
    public const double SmallBucketMb = 0.05;

    /// <summary>One global stream with rows predicting different token counts (the global count matters).</summary>
    public static SyntheticDataSource GlobalStream() => new(1, 8, maskEvery: 3);

    public static TrainingOptions DpOptions(string outDir, int maxSteps = 4, int accumulation = 4) =>
        TrainingTestKit.Options(outDir, maxSteps) with { GradientAccumulation = accumulation, MaxGradNorm = 0.5 };

    /// <summary>Runs <paramref name="body"/> on <paramref name="dp"/> thread ranks, each with its own data-parallel topology.</summary>
    public static T[] OnRanks<T>(int dp, int zero, Func<DataParallelTopology, T> body, double bucketMb = SmallBucketMb, bool overlap = true, TimeSpan? timeout = null)
    {
        using var store = new InMemoryStore();
        return ThreadProcessGroup.Run(dp, g =>
        {
            using var mesh = DeviceMesh.Create(g, ParallelDims.Resolve(g.Size));
            using var topology = new DataParallelTopology(mesh, new DataParallelOptions(zero, bucketMb, overlap), store);
            return body(topology);
        }, timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>A trainer on this rank: rank r starts from other weights (seed 10 + r) that the topology replaces by rank 0's.</summary>
    public static Trainer NewTrainer(ITrainingTopology topology, TrainingOptions options, bool recompute, Core.Model.LlamaForCausalLM model) =>
        new(model, GlobalStream(), Sdpa, options, recompute ? new LongSequenceLoss(chunkTokens: 4) : null, topology: topology);

    /// <summary>Copies of the weights, kept alive past the rank's dispose scope.</summary>
    public static Dictionary<string, Tensor> WeightsOf(Core.Model.LlamaForCausalLM model) =>
        Snapshot(model).ToDictionary(kv => kv.Key, kv => kv.Value.DetachFromDisposeScope());

    public static void AssertClose(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual, double tol, string what)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, e) in expected)
            TinyTrainingModel.AssertClose(e, actual[name], tol, $"{what}: {name}");
    }

    public static void AssertCloseSeries(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double relTol, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relTol * Math.Max(1e-12, Math.Abs(expected[i])),
                $"{what} [{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
