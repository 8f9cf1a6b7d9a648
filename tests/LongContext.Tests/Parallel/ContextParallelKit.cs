using LongContext.Core.Model;
using LongContext.Parallel.ContextParallel;
using LongContext.Parallel.DataParallel;
using LongContext.Parallel.Distributed;
using LongContext.Parallel.Distributed.Store;
using LongContext.Tests.Training;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Optim;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Tests.Parallel;

/// <summary>
/// Context-parallel trainers on thread ranks of a dp × cp mesh, fed packed documents (positions restarting per
/// document, boundaries masked, documents crossing chunk and shard boundaries), and the single process they must equal.
/// </summary>
internal static class ContextParallelKit
{
    /// <summary>Rows of 32 tokens: chunks of 4 tokens at cp = 4, 8 at cp = 2.</summary>
    public const int Length = 32;

    /// <summary>
    /// Documents of 3 … 40 tokens (some longer than a row), packed two rows per micro-batch. Each counts up from a random
    /// token by a step of 1 or 3 (mod 256), which a tiny model learns from its context in a few steps, so a loss curve moves.
    /// </summary>
    public static ITrainingDataSource PackedDocuments(int length = Length, int batch = 2)
    {
        var rng = new Random(5);
        var documents = Enumerable.Range(0, 60).Select(_ =>
        {
            int start = rng.Next(256), step = rng.Next(2) == 0 ? 1 : 3;
            return (IReadOnlyList<int>)[.. Enumerable.Range(0, rng.Next(3, 41)).Select(i => (start + i * step) % 256)];
        }).ToList();
        return new PackedDataSource(new InMemoryTokenCorpus(documents), new PackingOptions
        {
            SequenceLength = length, BatchSize = batch, Seed = 3, ResetPositionIds = true, MaskDocumentBoundaries = true,
        });
    }

    /// <param name="learningRate">1e-3 keeps AdamW's sign-like updates of near-zero gradients from amplifying rounding
    /// differences into the weights; the loss-curve tests take 1e-2 so that the curve moves in 20 steps.</param>
    public static TrainingOptions CpOptions(string outDir, int maxSteps, int accumulation = 2, double learningRate = 1e-3) =>
        TrainingTestKit.Options(outDir, maxSteps) with { LearningRate = learningRate, GradientAccumulation = accumulation, DocumentMask = true, MaxGradNorm = 0.5 };

    /// <summary>Runs <paramref name="body"/> on dp × cp thread ranks, each with the composed topology on its mesh.</summary>
    public static T[] OnMesh<T>(int dp, int cp, Func<DataParallelTopology, T> body, int zero = 0, string attention = "auto", Action<string>? log = null,
        double bucketMb = DataParallelKit.SmallBucketMb)
    {
        using var store = new InMemoryStore();
        return ThreadProcessGroup.Run(dp * cp, g =>
        {
            using var mesh = DeviceMesh.Create(g, ParallelDims.Resolve(g.Size, dp, cp));
            using var topology = new DataParallelTopology(mesh, new DataParallelOptions(zero, bucketMb), store,
                new ContextParallelOptions(ContextParallelChoice.Parse(attention)), g.Rank == 0 ? log : null);
            return body(topology);
        }, TimeSpan.FromSeconds(120));
    }

    public static Trainer NewTrainer(ITrainingTopology topology, TrainingOptions options, LlamaForCausalLM model, bool recompute,
        ITrainingDataSource? data = null, OptimizerFactory? optimizer = null) =>
        new(model, data ?? PackedDocuments(), DataParallelKit.Sdpa, options, recompute ? new LongSequenceLoss(chunkTokens: 8) : null,
            optimizer: optimizer, topology: topology);

    /// <summary>AdamW that keeps a copy of the gradients of its first step (after the sync and clipping), by name.</summary>
    public static OptimizerFactory RecordingGradients(Dictionary<string, Tensor> into, AdamWOptions? options = null) => trainable =>
        new GradientRecorder(AdamW.Factory(options ?? new AdamWOptions())(trainable), trainable, into);

    /// <summary>‖a − b‖ / ‖b‖ in float64.</summary>
    public static double RelErr(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        return (actual.to(ScalarType.Float64) - e).norm().item<double>() / Math.Max(1e-30, e.norm().item<double>());
    }

    public static void AssertSameGradients(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual, double relTol, string what)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, e) in expected)
        {
            Assert.True(actual[name].isfinite().all().item<bool>(), $"{what}: {name} has non-finite gradients");
            double err = RelErr(actual[name], e);
            Assert.True(err <= relTol, $"{what}: {name} gradient rel. error {err:E2} > {relTol:E1}");
        }
    }

    sealed class GradientRecorder(IOptimizer inner, IReadOnlyList<KeyValuePair<string, Tensor>> trainable, Dictionary<string, Tensor> into) : IOptimizer
    {
        public long StepCount => inner.StepCount;

        public void Step(double lr)
        {
            if (into.Count == 0)
                foreach (var (name, p) in trainable)
                    into[name] = p.grad!.detach().clone().DetachFromDisposeScope();
            inner.Step(lr);
        }

        public void ZeroGrad() => inner.ZeroGrad();
        public bool ReplicatedState => inner.ReplicatedState;
        public IEnumerable<OptimizerStateSlice> StateSlices() => inner.StateSlices();
        public void LoadState(long stepCount, IOptimizerStateSource source) => inner.LoadState(stepCount, source);
        public void Dispose() => inner.Dispose();
    }
}
