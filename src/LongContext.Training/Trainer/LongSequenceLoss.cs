using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Core.Native;
using LongContext.Training.Checkpointing;
using LongContext.Training.Loss;
using static TorchSharp.torch;

namespace LongContext.Training.Trainer;

/// <summary>
/// The loss for long sequences: decoder layers under activation checkpointing (only each layer's input is kept;
/// the layer is re-run in backward), then the LM head and cross-entropy chunk by chunk, so neither per-layer
/// activations nor [L, vocab] logits ever exist for the whole sequence.
/// </summary>
/// <param name="checkpointedLayers">How many layers (from the first) are checkpointed: null = all, 0 = none; see
/// <see cref="Plan.ActivationCheckpointPlan"/> for choosing it from the device's memory.</param>
/// <param name="autoCheckpointing">On CUDA, after the first micro-batch (every layer checkpointed) measure its peak
/// memory and leave as many layers plain as fit (<see cref="Plan.ActivationCheckpointPlan"/>): each one skips a
/// recompute. After the second, re-plan from the memory a plain layer was measured to take. From the third on the
/// layout stays fixed. Off the GPU, or with offload, every layer stays checkpointed.</param>
public sealed class LongSequenceLoss(int chunkTokens = ChunkedCrossEntropy.DefaultChunkTokens, int? checkpointedLayers = null, bool offloadToHost = false,
    bool autoCheckpointing = false) : ILossComputer
{
    readonly CheckpointedLayerRunner runner = new(offloadToHost, checkpointedLayers);
    bool planned = !autoCheckpointing || offloadToHost;
    int calls;
    long peakAllCheckpointed;

    public bool AutoCheckpointing => autoCheckpointing;

    public int ChunkTokens => chunkTokens;
    public bool OffloadToHost => offloadToHost;

    /// <summary>Checkpointed layers from the first (null: all, 0: none); may change between steps.</summary>
    public int? CheckpointedLayers
    {
        get => runner.CheckpointedLayers;
        set => runner.CheckpointedLayers = value;
    }

    public Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch, IAttentionBackend backend)
    {
        if (!planned)
        {
            int call = calls++;
            if (call == 1) PlanFromFirstStep(model, batch.InputIds.shape[^1]);
            else if (call == 2) RefineFromSecondStep(model, batch.InputIds.shape[^1]);
        }
        using var scope = NewDisposeScope();
        var layers = CheckpointedLayers == 0 ? null : runner;
        var hidden = model.Forward(batch.InputIds, backend, cache: null, positionIds: batch.PositionIds, layerRunner: layers);
        return ChunkedCrossEntropy.Sum(hidden, model.LmHeadWeight, batch.Labels, chunkTokens).MoveToOuterDisposeScope();
    }

    /// <summary>Raises a failure of a checkpointed layer's recompute (e.g. CUDA out of memory) as a clear error.</summary>
    public void AfterBackward() => runner.ThrowIfBackwardFailed();

    void PlanFromFirstStep(LlamaForCausalLM model, long sequenceLength)
    {
        if (model.Device.type != TorchSharp.DeviceType.CUDA || CudaMemory.Stats() is not { } stats || CudaMemory.DeviceMemory() is not { } device)
        {
            planned = true;
            return;
        }
        peakAllCheckpointed = stats.PeakAllocated;
        CheckpointedLayers = Plan.ActivationCheckpointPlan.LayersToCheckpoint(model.Config, sequenceLength, peakAllCheckpointed, device.Total);
        planned = CheckpointedLayers == model.Config.NumHiddenLayers;   // nothing plain: nothing to measure
        CudaMemory.ResetPeak();
    }

    void RefineFromSecondStep(LlamaForCausalLM model, long sequenceLength)
    {
        planned = true;
        if (CudaMemory.Stats() is not { } stats || CudaMemory.DeviceMemory() is not { } device || CheckpointedLayers is not int inPlan) return;
        CheckpointedLayers = Plan.ActivationCheckpointPlan.Refine(model.Config, sequenceLength, peakAllCheckpointed, inPlan,
            stats.PeakAllocated, device.Total);
        CudaMemory.ResetPeak();
    }
}
