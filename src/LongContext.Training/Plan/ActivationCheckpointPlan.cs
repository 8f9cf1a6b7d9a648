using LongContext.Core.Config;

namespace LongContext.Training.Plan;

/// <summary>
/// How many decoder layers to checkpoint on one device: as few as fit, since every layer that keeps its activations
/// skips the recompute of its forward (about a quarter of its training FLOPs). It starts from a measured peak with
/// every layer checkpointed (the first step) and adds, per layer left plain, <see cref="MemoryModel"/>'s working set
/// of one layer minus the checkpoint it no longer needs (the formula overestimates what an H100 run measured, which
/// is the safe side).
/// </summary>
public static class ActivationCheckpointPlan
{
    /// <summary>Fraction of the device's memory the plan may fill.</summary>
    public const double Headroom = 0.9;

    /// <summary>Activation bytes one layer left plain adds, at this length (batch 1).</summary>
    public static long ExtraBytesPerPlainLayer(ModelConfig config, long sequenceLength)
    {
        var estimate = MemoryModel.Estimate(config, sequenceLength, new TrainingLayout(1, 1));
        return Math.Max(1, estimate.LayerWorkingSet - estimate.Checkpoints / config.NumHiddenLayers);
    }

    /// <returns>Layers to checkpoint from the first, 0 … num_hidden_layers.</returns>
    /// <param name="peakAllCheckpointed">Peak device bytes of a step with every layer checkpointed.</param>
    /// <param name="deviceBytes">The device's total memory.</param>
    public static int LayersToCheckpoint(ModelConfig config, long sequenceLength, long peakAllCheckpointed, long deviceBytes)
    {
        long budget = (long)(deviceBytes * Headroom) - peakAllCheckpointed;
        if (budget <= 0) return config.NumHiddenLayers;
        long plain = Math.Min(config.NumHiddenLayers, budget / ExtraBytesPerPlainLayer(config, sequenceLength));
        return config.NumHiddenLayers - (int)plain;
    }
}
