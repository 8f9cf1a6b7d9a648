using LongContext;
using LongContext.Core.Attention;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Optim;
using LongContext.Training.Plan;
using LongContext.Training.Topology;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TrainingTestKit;

namespace LongContext.Tests.Training;

/// <summary>The seams distributed training plugs into: identities with one process, called in the step's order.</summary>
public class TrainingTopologyTests
{
    static readonly IAttentionBackend Sdpa = new SdpaAttentionBackend();

    [Fact]
    public void With_one_process_every_seam_is_the_identity()
    {
        ITrainingTopology one = SingleProcessTopology.Instance;
        Assert.Equal((0, 1, true), (one.Rank, one.WorldSize, one.IsWriter));
        var step = new[] { new SyntheticDataSource(2, 8).Next(), new SyntheticDataSource(1, 8, seed: 2).Next() };
        Assert.Same(step, one.ShardBatch(step));
        Assert.Equal(12345L, one.GlobalTokenCount(12345));
        using var norm = tensor(3.5f);
        Assert.Same(norm, one.GlobalGradNorm(norm));
        var decision = new StepDecision(7.25, NonFinite: true, StopRequested: false);
        Assert.Equal(decision, one.Agree(decision));
        Assert.Equal(5, one.AgreeRecomputedLayers(5));

        using var p = randn(3, 4).requires_grad_(true);
        p.grad = randn(3, 4);
        var before = p.grad.clone();
        one.SyncGradients([new("w", p)]);
        Assert.True(p.grad.SameAs(before));
    }

    [Fact]
    public void The_trainer_calls_the_seams_in_step_order_and_a_recording_single_process_trains_bit_identically()
    {
        using var dir = new TempDir();
        var options = Options("", maxSteps: 2) with { GradientAccumulation = 2 };
        var topology = new RecordingTopology();
        using var modelA = NewModel(seed: 4);
        using var a = new Trainer(modelA, new SyntheticDataSource(1, 8), Sdpa, options with { OutDir = Path.Combine(dir.Path, "a") }, topology: topology);
        var withSeams = a.Run();
        string[] step = ["Agree(stop check)", "ShardBatch(2)", "GlobalTokenCount", "SyncGradients", "GlobalGradNorm", "Agree(step)"];
        Assert.Equal(step.Concat(step), topology.Calls);

        using var modelB = NewModel(seed: 4);
        using var b = new Trainer(modelB, new SyntheticDataSource(1, 8), Sdpa, options with { OutDir = Path.Combine(dir.Path, "b") });
        var plain = b.Run();
        Assert.Equal(plain.Steps.Select(s => (s.Loss, s.GradNorm)), withSeams.Steps.Select(s => (s.Loss, s.GradNorm)));
        var weights = modelB.NamedTensors();
        foreach (var (name, t) in modelA.NamedTensors()) Assert.True(t.SameAs(weights[name]), name);
    }

    [Fact]
    public void A_peer_that_saw_a_non_finite_value_stops_every_process_before_the_update()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        int decisions = 0;
        var topology = new RecordingTopology
        {
            Decide = d => d == StepDecision.StopCheck(d.StopRequested) ? d : d with { NonFinite = ++decisions == 2 },
        };
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 3), topology: topology);
        trainer.TrainStep();
        var before = Snapshot(model);
        var e = Assert.Throws<LongContextException>(() => trainer.TrainStep());
        Assert.Contains("step 2: loss", e.Message);
        Assert.Equal(1, trainer.Step);
        foreach (var (name, p) in model.NamedTensors()) Assert.True(p.SameAs(before[name]), name);
    }

    [Fact]
    public void A_stop_requested_on_another_process_ends_the_run_after_the_current_step_with_a_checkpoint()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        var topology = new RecordingTopology { Decide = d => d.LossSum > 0 ? d with { StopRequested = true } : d };
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 4), topology: topology);
        var result = trainer.Run();
        Assert.True(result.Interrupted);
        Assert.Equal(1, result.FinalStep);
        Assert.EndsWith("step-000001", result.LastCheckpoint);
    }

    [Fact]
    public void Clipping_uses_the_global_gradient_norm()
    {
        using var dir = new TempDir();
        var options = Options("", maxSteps: 1) with { MaxGradNorm = 1e-3 };
        using var local = NewModel(seed: 3);
        using var a = new Trainer(local, new SyntheticDataSource(1, 8), Sdpa, options with { OutDir = Path.Combine(dir.Path, "a") });
        double localNorm = a.TrainStep().GradNorm;

        // Another process holds as large a gradient again: the global norm is twice this one's.
        using var sharded = NewModel(seed: 3);
        var topology = new RecordingTopology { Norm = n => n * 2 };
        using var b = new Trainer(sharded, new SyntheticDataSource(1, 8), Sdpa, options with { OutDir = Path.Combine(dir.Path, "b") }, topology: topology);
        Assert.Equal(2 * localNorm, b.TrainStep().GradNorm, 4);
    }

    [Fact]
    public void The_activation_checkpoint_plan_is_agreed_through_the_topology()
    {
        using var dir = new TempDir();
        using var model = NewModel(config: Tiny with { NumHiddenLayers = 4 });
        // A device with room for every layer plain; another process needs 3 recomputed.
        long peak = 1000, total = 1L << 40;
        var memory = new DeviceMemoryProbe(() => peak, () => total, () => { });
        var loss = new LongSequenceLoss(chunkTokens: 4, autoCheckpointing: true, memory: memory);
        var topology = new RecordingTopology { Plan = proposed => Math.Max(proposed, 3) };
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 3), loss, topology: topology);
        for (int i = 0; i < 3; i++) trainer.TrainStep();
        Assert.Equal(["AgreeRecomputedLayers(0)", "AgreeRecomputedLayers(3)"], topology.Calls.Where(c => c.StartsWith("AgreeRecomputed", StringComparison.Ordinal)));
        Assert.Equal(3, loss.RecomputedLayers);
    }

    [Fact]
    public void The_optimizer_comes_from_the_injected_factory_and_its_state_is_checkpointed()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        RecordingOptimizer? made = null;
        OptimizerFactory factory = trainable => made = new RecordingOptimizer(new AdamW(trainable));
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 2), optimizer: factory);
        Assert.Same(made, trainer.Optimizer);
        trainer.Run();
        Assert.Equal(2, made!.Steps);
        Assert.Equal(2L, made.StepCount);
        using var resumedModel = NewModel(seed: 9);
        RecordingOptimizer? second = null;
        using var resumed = new Trainer(resumedModel, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 2),
            optimizer: trainable => second = new RecordingOptimizer(new AdamW(trainable)));
        Assert.True(resumed.ResumeLatest());
        Assert.Equal(2L, second!.Loaded);
    }

    sealed class RecordingOptimizer(AdamW inner) : IOptimizer
    {
        public int Steps { get; private set; }
        public long Loaded { get; private set; }
        public long StepCount => inner.StepCount;
        public void Step(double lr) { Steps++; inner.Step(lr); }
        public void ZeroGrad() => inner.ZeroGrad();
        public IEnumerable<OptimizerStateSlice> StateSlices() => inner.StateSlices();
        public void LoadState(long stepCount, IOptimizerStateSource source)
        {
            Loaded = stepCount;
            inner.LoadState(stepCount, source);
        }
        public void Dispose() => inner.Dispose();
    }
}
