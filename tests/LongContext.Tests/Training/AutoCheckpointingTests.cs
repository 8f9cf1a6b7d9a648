using LongContext.Core.Attention;
using LongContext.Training.Data;
using LongContext.Training.Plan;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TinyTrainingModel;

namespace LongContext.Tests.Training;

public class AutoCheckpointingTests
{
    /// <summary>A scripted device: each PeakAllocated() returns the next reading; resets are counted.</summary>
    sealed class FakeMemory(long total, params long[] peaks)
    {
        int next;
        public int Resets { get; private set; }
        public int Readings => next;
        public DeviceMemoryProbe Probe => new(() => peaks[next++], () => total, () => Resets++);
    }

    static DeviceBatch Batch(int length)
    {
        var ids = Enumerable.Range(0, length).Select(i => (long)(i % 30 + 1)).ToArray();
        var labels = ids.Skip(1).Append(TrainingBatch.IgnoreIndex).ToArray();
        var positions = Enumerable.Range(0, length).Select(i => (long)i).ToArray();
        var host = new TrainingBatch(ids, labels, positions, 1, length);
        return DeviceBatch.Upload(host, CPU, new SdpaAttentionBackend());
    }

    [Fact]
    public void Plans_after_the_first_micro_batch_re_plans_after_the_second_then_keeps_the_layout()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: false, layers: 6);
        const int length = 16;
        long estimate = ActivationCheckpointPlan.ExtraBytesPerPlainLayer(model.Config, length);
        // Room for 2 plain layers by the estimate; a plain layer then measures at half the estimate → room for 4.
        long allCheckpointed = 1_000_000, total = (long)((allCheckpointed + 2.5 * estimate) / ActivationCheckpointPlan.Headroom);
        long withPlan = allCheckpointed + 2 * (estimate / 2);
        var memory = new FakeMemory(total, allCheckpointed, withPlan);
        var loss = new LongSequenceLoss(chunkTokens: 8, autoCheckpointing: true, memory: memory.Probe);
        var backend = new SdpaAttentionBackend();
        var batch = Batch(length);
        var layouts = new List<int?>();
        for (int i = 0; i < 4; i++)
        {
            loss.LossSum(model, batch).backward();
            layouts.Add(loss.RecomputedLayers);
        }
        // Micro-batch 0 ran with every layer checkpointed (null), 1 with the first plan, 2 and 3 with the re-plan.
        Assert.Equal(new int?[] { null, 4, 2, 2 }, layouts);
        Assert.Equal(2, memory.Readings);   // one peak read per plan, none after the layout is fixed
        Assert.Equal(3, memory.Resets);     // before micro-batch 0, then after each reading
        Assert.Equal(2, loss.PlanningMicroBatches);
    }

    [Fact]
    public void Off_the_gpu_every_layer_stays_checkpointed_and_nothing_is_measured()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: false, layers: 2);
        var loss = new LongSequenceLoss(chunkTokens: 8, autoCheckpointing: true);
        for (int i = 0; i < 3; i++) loss.LossSum(model, Batch(12)).backward();
        Assert.Null(loss.RecomputedLayers);
    }
}
