using System.Diagnostics;
using LongContext.Parallel.DataParallel;
using LongContext.Parallel.Distributed;
using LongContext.Tests.Training;
using LongContext.Training.Loop;
using LongContext.Training.Topology;
using static TorchSharp.torch;
using static LongContext.Tests.Parallel.DataParallelKit;
using static LongContext.Tests.Training.TrainingTestKit;

namespace LongContext.Tests.Parallel;

/// <summary>Data parallelism equals one process accumulating the same global batch.</summary>
public class DataParallelTrainingTests
{
    [Theory]
    [InlineData(2, 0, false)]
    [InlineData(4, 0, false)]
    [InlineData(2, 1, false)]
    [InlineData(4, 2, false)]
    [InlineData(2, 2, true)]
    [InlineData(4, 1, true)]
    public void Dp_ranks_follow_the_loss_curve_and_weights_of_one_process_with_accumulation(int dp, int zero, bool recompute)
    {
        using var dir = new TempDir();
        using var referenceModel = NewModel(seed: 10);
        using var reference = NewTrainer(SingleProcessTopology.Instance, DpOptions(Path.Combine(dir.Path, "one")), recompute, referenceModel);
        var expected = reference.Run();
        var expectedWeights = WeightsOf(referenceModel);

        var ranks = OnRanks(dp, zero, topology =>
        {
            using var model = NewModel(seed: 10 + topology.Rank);
            using var trainer = NewTrainer(topology, DpOptions(Path.Combine(dir.Path, "dp")), recompute, model);
            var result = trainer.Run();
            return (result.Steps.Select(s => s.Loss).ToList(), result.Steps.Select(s => s.GradNorm).ToList(), WeightsOf(model));
        });

        var losses = expected.Steps.Select(s => s.Loss).ToList();
        var norms = expected.Steps.Select(s => s.GradNorm).ToList();
        foreach (var (rankLosses, rankNorms, weights) in ranks)
        {
            AssertCloseSeries(losses, rankLosses, 1e-5, $"loss at dp {dp}, zero {zero}");
            AssertCloseSeries(norms, rankNorms, 1e-4, $"gradient norm at dp {dp}, zero {zero}");
            AssertClose(expectedWeights, weights, 2e-5, $"weights at dp {dp}, zero {zero}");
        }
        // Only rank 0 wrote the metrics: one line per step.
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir.Path, "dp", "metrics.jsonl")).Length);
    }

    [Fact]
    public void Reductions_launched_during_the_backward_give_the_sums_of_reductions_after_it()
    {
        using var dir = new TempDir();
        (double[] Norms, long Overlapped, int Overlappable) Run(bool overlap) => OnRanks(2, 0, topology =>
        {
            using var model = NewModel(seed: 3);
            using var trainer = NewTrainer(topology, DpOptions(Path.Combine(dir.Path, overlap ? "a" : "b"), maxSteps: 2), recompute: false, model);
            var norms = trainer.Run().Steps.Select(s => s.GradNorm).ToArray();
            int overlappable = topology.Buckets!.Buckets.Count(b => b.ReadyAtLayer != GradientBuckets.EndLayer);
            return (norms, topology.BucketsOverlapped, overlappable);
        }, overlap: overlap)[0];
        var after = Run(overlap: false);
        var during = Run(overlap: true);
        Assert.Equal(after.Norms, during.Norms);
        Assert.Equal(0, after.Overlapped);
        // 0.05 MB buckets: every bucket without the embeddings starts inside the backward, on both steps.
        Assert.True(during.Overlappable >= 3, $"{during.Overlappable} buckets can overlap");
        Assert.Equal(2 * during.Overlappable, during.Overlapped);
    }

    [Fact]
    public void An_accumulation_that_the_dp_degree_does_not_divide_is_refused_naming_the_fix()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<LongContext.ConfigException>(() => OnRanks(2, 0, topology =>
        {
            using var model = NewModel();
            using var trainer = NewTrainer(topology, DpOptions(Path.Combine(dir.Path, "x"), accumulation: 3), recompute: false, model);
            return trainer.TrainStep().Loss;
        }));
        Assert.Contains("--accumulation 4", e.Message);
    }

    [Fact]
    public void A_stop_requested_on_one_rank_stops_every_rank_after_the_same_step_with_one_checkpoint()
    {
        using var dir = new TempDir();
        var results = OnRanks(2, 1, topology =>
        {
            using var cts = new CancellationTokenSource();
            using var model = NewModel();
            var progress = new RecordingProgress(p => { if (p.Step == 2) cts.Cancel(); });   // only rank 0 reports progress
            using var trainer = new Trainer(model, GlobalStream(), Sdpa, DpOptions(Path.Combine(dir.Path, "run"), maxSteps: 6), progress: progress, topology: topology);
            var r = trainer.Run(cts.Token);
            return (r.FinalStep, r.Interrupted, r.LastCheckpoint);
        });
        Assert.All(results, r => Assert.Equal((2, true), (r.FinalStep, r.Interrupted)));
        Assert.All(results, r => Assert.EndsWith("step-000002", r.LastCheckpoint));
    }

    [Fact]
    public void A_rank_that_fails_mid_step_ends_every_rank_with_an_error_naming_it_within_the_timeout()
    {
        using var dir = new TempDir();
        var messages = new string?[2];
        var clock = Stopwatch.StartNew();
        Assert.ThrowsAny<Exception>(() => OnRanks(2, 0, topology =>
        {
            try
            {
                using var model = NewModel();
                var failing = topology.Rank == 1 ? new FailingTopology(topology, failAtBackward: 3) : (ITrainingTopology)topology;
                using var trainer = new Trainer(model, GlobalStream(), Sdpa, DpOptions(Path.Combine(dir.Path, "run")), topology: failing);
                return trainer.Run().FinalStep;
            }
            catch (Exception e)
            {
                messages[topology.Rank] = e.Message;
                throw;
            }
        }, timeout: TimeSpan.FromSeconds(20)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Assert.Contains("rank 1", messages[0]);
        Assert.Equal("rank 1 died in its backward", messages[1]);
    }
}

/// <summary>A rank's topology that throws in the n-th backward (the rank "dies" mid-step), otherwise the inner one.</summary>
internal sealed class FailingTopology(DataParallelTopology inner, int failAtBackward = int.MaxValue, Func<int, bool>? failExchange = null) : ITrainingTopology
{
    int backwards, exchanges;
    public int Rank => inner.Rank;
    public int WorldSize => inner.WorldSize;
    public LongContext.Training.Optim.IOptimizer CreateOptimizer(IReadOnlyList<KeyValuePair<string, Tensor>> trainable, LongContext.Training.Optim.OptimizerFactory? injected, LongContext.Training.Optim.AdamWOptions options) =>
        inner.CreateOptimizer(trainable, injected, options);
    public IReadOnlyList<LongContext.Training.Data.TrainingBatch> ShardBatch(IReadOnlyList<LongContext.Training.Data.TrainingBatch> step) => inner.ShardBatch(step);
    public long GlobalTokenCount(long local) => inner.GlobalTokenCount(local);
    public LongContext.Core.Model.IDecoderLayerRunner? LayerRunner(LongContext.Core.Model.IDecoderLayerRunner? r) => inner.LayerRunner(r);
    public void Backward(Tensor loss, int micro, int count)
    {
        if (++backwards == failAtBackward) throw new InvalidOperationException($"rank {Rank} died in its backward");
        inner.Backward(loss, micro, count);
    }
    public void SyncGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable) => inner.SyncGradients(trainable);
    public IReadOnlyList<Tensor> HeldGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable) => inner.HeldGradients(trainable);
    public Tensor GlobalGradNorm(Tensor n) => inner.GlobalGradNorm(n);
    public StepDecision Agree(StepDecision d) => inner.Agree(d);
    public int AgreeRecomputedLayers(int p) => inner.AgreeRecomputedLayers(p);
    public IReadOnlyList<byte[]> AllGatherBytes(byte[] local)
    {
        if (failExchange?.Invoke(++exchanges) == true) throw new InvalidOperationException($"rank {Rank} died during exchange {exchanges}");
        return inner.AllGatherBytes(local);
    }
    public void OnWriter(string what, Action action) => inner.OnWriter(what, action);
}
