using LongContext.Formats.Config;

namespace LongContext.Training.Plan;

/// <summary>
/// How many decoder layers to checkpoint on one device: as few as fit, since every layer that keeps its activations
/// skips the recompute of its forward (about a quarter of its training FLOPs). It starts from a measured peak with
/// every layer checkpointed (the first step) and adds, per layer left plain, <see cref="MemoryModel"/>'s working set
/// of one layer minus the checkpoint it no longer needs. The formula overestimates (an H100 run at 32K measured 2.3 GB
/// per plain layer against ~4 GB estimated), which is the safe side for the first plan; <see cref="Refine"/> then
/// replaces it with the slope measured between the first two steps.
/// </summary>
public static class ActivationCheckpointPlan
{
    /// <summary>Fraction of the device's memory the plan may fill.</summary>
    public const double Headroom = 0.9;

    /// <summary>A measured slope below this fraction of the estimate is taken as noise (the peak lay elsewhere).</summary>
    public const double MinMeasuredFraction = 0.4;

    /// <summary>Activation bytes one layer left plain adds, at this length (batch 1).</summary>
    public static long ExtraBytesPerPlainLayer(ModelConfig config, long sequenceLength)
    {
        var estimate = MemoryModel.Estimate(config, sequenceLength, new TrainingLayout(1, 1));
        return Math.Max(1, estimate.LayerWorkingSet - estimate.Checkpoints / config.NumHiddenLayers);
    }

    /// <returns>Layers to checkpoint from the first, 0 … num_hidden_layers.</returns>
    /// <param name="peakAllCheckpointed">Peak device bytes of a step with every layer checkpointed.</param>
    /// <param name="deviceBytes">The device's total memory.</param>
    public static int LayersToCheckpoint(ModelConfig config, long sequenceLength, long peakAllCheckpointed, long deviceBytes) =>
        Fit(config, peakAllCheckpointed, deviceBytes, ExtraBytesPerPlainLayer(config, sequenceLength));

    /// <summary>
    /// The second plan: from the peaks of a step with every layer checkpointed and of a step with
    /// <paramref name="checkpointedInPlan"/> checkpointed, the real cost of a plain layer on this device (allocator,
    /// kernels' workspaces and all), and as many plain layers as that fits. Without a usable measurement (no plain
    /// layer in the plan, or a slope too small to be the layers') the plan stays as it was.
    /// </summary>
    public static int Refine(ModelConfig config, long sequenceLength, long peakAllCheckpointed, int checkpointedInPlan,
        long peakWithPlan, long deviceBytes)
    {
        int plain = config.NumHiddenLayers - checkpointedInPlan;
        if (plain <= 0) return checkpointedInPlan;
        long measured = (peakWithPlan - peakAllCheckpointed) / plain;
        if (measured < MinMeasuredFraction * ExtraBytesPerPlainLayer(config, sequenceLength)) return checkpointedInPlan;
        return Fit(config, peakAllCheckpointed, deviceBytes, measured);
    }

    static int Fit(ModelConfig config, long peakAllCheckpointed, long deviceBytes, long bytesPerPlainLayer)
    {
        long budget = (long)(deviceBytes * Headroom) - peakAllCheckpointed;
        if (budget <= 0) return config.NumHiddenLayers;
        long plain = Math.Min(config.NumHiddenLayers, budget / Math.Max(1, bytesPerPlainLayer));
        return config.NumHiddenLayers - (int)plain;
    }
}
