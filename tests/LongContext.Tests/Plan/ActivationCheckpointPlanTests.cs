using LongContext.Core.Config;
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
        long plain = OneB.NumHiddenLayers - layers;
        Assert.InRange(plain, 1, OneB.NumHiddenLayers - 1);
        Assert.True(peak + plain * perLayer <= H100 * ActivationCheckpointPlan.Headroom, "the plan does not fit");
        Assert.True(peak + (plain + 1) * perLayer > H100 * ActivationCheckpointPlan.Headroom, "one more plain layer would have fit");
    }

    [Fact]
    public void No_room_checkpoints_everything_and_plenty_checkpoints_nothing()
    {
        Assert.Equal(OneB.NumHiddenLayers, ActivationCheckpointPlan.LayersToCheckpoint(OneB, 262144, 79_000_000_000, H100));
        Assert.Equal(0, ActivationCheckpointPlan.LayersToCheckpoint(OneB, 1024, 10_000_000_000, H100));
    }
}
