using LongContext.Core.Model;
using LongContext.Training.ActivationCheckpointing;
using LongContext.Training.Loop;
using LongContext.Training.Plan;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Training.Loss;

/// <summary>
/// The loss for long sequences: decoder layers under activation checkpointing (only each layer's input is kept;
/// the layer is re-run in backward), then the LM head and cross-entropy chunk by chunk, so neither per-layer
/// activations nor [L, vocab] logits ever exist for the whole sequence.
/// </summary>
/// <param name="recomputedLayers">How many layers (from the first) are recomputed: null = all, 0 = none; see
/// <see cref="ActivationCheckpointPlan"/> for choosing it from the device's memory.</param>
/// <param name="autoCheckpointing">On CUDA, plan the recomputed layers from measured memory
/// (<see cref="ActivationCheckpointPlanner"/>: the first micro-batch recomputes every layer, the second runs the first
/// plan, from the third on the layout is fixed). Off the GPU, or with offload, every layer stays recomputed.</param>
/// <param name="memory">Where auto checkpointing reads memory (default: the model's CUDA device).</param>
public sealed class LongSequenceLoss(int chunkTokens = ChunkedCrossEntropy.DefaultChunkTokens, int? recomputedLayers = null, bool offloadToHost = false,
    bool autoCheckpointing = false, DeviceMemoryProbe? memory = null) : ILossComputer
{
    readonly RecomputingLayerRunner runner = new(offloadToHost, recomputedLayers);
    readonly ActivationCheckpointPlanner? planner = autoCheckpointing && !offloadToHost ? new(memory) : null;
    ITrainingTopology topology = SingleProcessTopology.Instance;

    public int ChunkTokens => chunkTokens;
    public bool OffloadToHost => offloadToHost;

    /// <summary>Recomputed layers from the first (null: all, 0: none); may change between steps.</summary>
    public int? RecomputedLayers
    {
        get => runner.RecomputedLayers;
        set => runner.RecomputedLayers = value;
    }

    public Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch)
    {
        // The plan is for the micro-batch's tokens (rows × length): activation memory grows with both.
        if (planner is { Done: false }) RecomputedLayers = planner.Next(model, batch.InputIds.numel(), RecomputedLayers);
        using var scope = NewDisposeScope();
        var layers = topology.LayerRunner(RecomputedLayers == 0 ? null : runner);
        var hidden = model.Forward(batch.InputIds, batch.Context, layerRunner: layers);
        return ChunkedCrossEntropy.Sum(hidden, model.LmHeadWeight, batch.Labels, chunkTokens).MoveToOuterDisposeScope();
    }

    /// <summary>Raises a failure of a recomputed layer (e.g. CUDA out of memory) as a clear error.</summary>
    public void AfterBackward() => runner.ThrowIfBackwardFailed();

    /// <summary>Every process plans the same recomputed layers; the layers run through the topology's runner.</summary>
    public void UseTopology(ITrainingTopology topology)
    {
        this.topology = topology;
        if (planner is not null) planner.Agree = topology.AgreeRecomputedLayers;
    }

    /// <summary>
    /// Micro-batches auto checkpointing spends before its layout is final: the first (every layer recomputed) and the
    /// second (the first plan, measured for the re-plan). With gradient accumulation both fall inside the first
    /// optimizer step. 0 without auto checkpointing or with offload.
    /// </summary>
    public int PlanningMicroBatches => planner is null ? 0 : ActivationCheckpointPlanner.PlanningMicroBatches;
}
