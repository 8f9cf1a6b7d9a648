using LongContext.Formats.Config;
using LongContext.Training.Plan;

namespace LongContext.Tests.Plan;

public class ActivationCheckpointPlanTests
{
    static readonly ModelConfig OneB = ModelPresets.Get("llama-3.2-1b");
    const long H100 = 80L * 1000 * 1000 * 1000;

    [Fact]
    public void Plain_layers_add_about_one_layer_working_set_each()
    {
        // 1B shape at 16K: ~2 GB per plain layer (an H100 run measured 1.76 GB; the estimate errs on the safe side).
        long perLayer = ActivationCheckpointPlan.ExtraBytesPerPlainLayer(OneB, 16384);
        Assert.InRange(perLayer, 1.7e9, 2.5e9);
        Assert.Equal(2 * perLayer, ActivationCheckpointPlan.ExtraBytesPerPlainLayer(OneB, 32768), (double)perLayer * 0.01);
    }

    [Fact]
    public void Checkpoints_as_few_layers_as_fit_the_remaining_memory()
    {
        long perLayer = ActivationCheckpointPlan.ExtraBytesPerPlainLayer(OneB, 32768);
        long peak = 40_000_000_000;
        int layers = ActivationCheckpointPlan.LayersToCheckpoint(OneB, 32768, peak, H100);
        Assert.InRange(layers, 1, OneB.NumHiddenLayers - 1);
        AssertTightFit(peak, perLayer, layers, H100);
    }

    /// <summary>The plain layers fit the headroom and one more would not (or none is left to make plain).</summary>
    static void AssertTightFit(long peakAllCheckpointed, long perLayer, int checkpointed, long device)
    {
        long plain = OneB.NumHiddenLayers - checkpointed, budget = (long)(device * ActivationCheckpointPlan.Headroom);
        Assert.True(peakAllCheckpointed + plain * perLayer <= budget, "the plan does not fit");
        Assert.True(checkpointed == 0 || peakAllCheckpointed + (plain + 1) * perLayer > budget, "one more plain layer would have fit");
    }

    [Fact]
    public void No_room_checkpoints_everything_and_plenty_checkpoints_nothing()
    {
        Assert.Equal(OneB.NumHiddenLayers, ActivationCheckpointPlan.LayersToCheckpoint(OneB, 262144, 79_000_000_000, H100));
        Assert.Equal(0, ActivationCheckpointPlan.LayersToCheckpoint(OneB, 1024, 10_000_000_000, H100));
    }

    [Fact]
    public void Refine_uses_the_measured_cost_of_a_plain_layer()
    {
        // The H100 run at 32K: 40.6 GiB with every layer checkpointed, 60.2 GiB with 9 plain (7 checkpointed).
        long gib = 1L << 30;
        long all = (long)(40.6 * gib), withPlan = (long)(60.2 * gib);
        long device = 81559L << 20;
        int refined = ActivationCheckpointPlan.Refine(OneB, 32768, all, 7, withPlan, device);
        Assert.True(refined < 7, $"the measured 2.2 GiB per layer leaves room for more plain layers, got {refined} checkpointed");
        AssertTightFit(all, (withPlan - all) / 9, refined, device);
    }

    [Fact]
    public void Refine_checkpoints_more_when_a_plain_layer_costs_more_than_estimated()
    {
        long perLayer = ActivationCheckpointPlan.ExtraBytesPerPlainLayer(OneB, 32768);
        long all = 40_000_000_000;
        int first = ActivationCheckpointPlan.LayersToCheckpoint(OneB, 32768, all, H100);
        int plain = OneB.NumHiddenLayers - first;
        int refined = ActivationCheckpointPlan.Refine(OneB, 32768, all, first, all + plain * perLayer * 2, H100);
        Assert.True(refined > first, $"layers twice as costly as estimated must checkpoint more than {first}, got {refined}");
    }

    [Fact]
    public void Refine_keeps_the_plan_without_a_usable_measurement()
    {
        long all = 40_000_000_000;
        // Nothing plain in the plan: no slope to measure.
        Assert.Equal(OneB.NumHiddenLayers, ActivationCheckpointPlan.Refine(OneB, 32768, all, OneB.NumHiddenLayers, all + 1, H100));
        // A peak that did not grow with the plain layers lay elsewhere (e.g. the optimizer step): keep the plan.
        Assert.Equal(7, ActivationCheckpointPlan.Refine(OneB, 32768, all, 7, all + 1000, H100));
    }
}
