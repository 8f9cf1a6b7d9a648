using LongContext.Core.Attention;
using LongContext.Core.Model;
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
/// recompute. After the second micro-batch, re-plan from the memory a plain layer was measured to take. From the third
/// on the layout stays fixed. Off the GPU, or with offload, every layer stays checkpointed.</param>
/// <param name="memory">Where auto checkpointing reads memory (default: the model's CUDA device).</param>
public sealed class LongSequenceLoss(int chunkTokens = ChunkedCrossEntropy.DefaultChunkTokens, int? checkpointedLayers = null, bool offloadToHost = false,
    bool autoCheckpointing = false, Plan.DeviceMemoryProbe? memory = null) : ILossComputer
{
    readonly CheckpointedLayerRunner runner = new(offloadToHost, checkpointedLayers);
    bool planned = !autoCheckpointing || offloadToHost;
    int calls;
    long peakAllCheckpointed;

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
        if (!planned) PlanStep(model, batch.InputIds.shape[^1]);
        using var scope = NewDisposeScope();
        var layers = CheckpointedLayers == 0 ? null : runner;
        var hidden = model.Forward(batch.InputIds, backend, cache: null, positionIds: batch.PositionIds, layerRunner: layers);
        return ChunkedCrossEntropy.Sum(hidden, model.LmHeadWeight, batch.Labels, chunkTokens).MoveToOuterDisposeScope();
    }

    /// <summary>Raises a failure of a checkpointed layer's recompute (e.g. CUDA out of memory) as a clear error.</summary>
    public void AfterBackward() => runner.ThrowIfBackwardFailed();

    /// <summary>Before micro-batch 0: reset the peak; before 1: plan from 0's peak; before 2: re-plan from 1's.</summary>
    void PlanStep(LlamaForCausalLM model, long sequenceLength)
    {
        memory ??= Plan.DeviceMemoryProbe.ForDevice(model.Device);
        if (memory is null)
        {
            planned = true;   // off the GPU: every layer stays checkpointed
            return;
        }
        switch (calls++)
        {
            case 0:
                // The first measurement must see this micro-batch's peak alone, not model loading or an earlier stage's.
                memory.ResetPeak();
                break;
            case 1:
                if (memory.PeakAllocated() is not long peak || memory.Total() is not long total) { planned = true; break; }
                peakAllCheckpointed = peak;
                CheckpointedLayers = Plan.ActivationCheckpointPlan.LayersToCheckpoint(model.Config, sequenceLength, peak, total);
                planned = CheckpointedLayers == model.Config.NumHiddenLayers;   // nothing plain: nothing to measure
                memory.ResetPeak();
                break;
            default:
                planned = true;
                if (memory.PeakAllocated() is long second && memory.Total() is long deviceTotal && CheckpointedLayers is int inPlan)
                {
                    CheckpointedLayers = Plan.ActivationCheckpointPlan.Refine(model.Config, sequenceLength, peakAllCheckpointed, inPlan,
                        second, deviceTotal);
                    memory.ResetPeak();
                }
                break;
        }
    }

    /// <summary>
    /// Micro-batches auto checkpointing spends before its layout is final: the first (every layer checkpointed) and the
    /// second (the first plan, measured for the re-plan). With gradient accumulation both fall inside the first
    /// optimizer step. 0 without auto checkpointing or with offload.
    /// </summary>
    public int PlanningMicroBatches => autoCheckpointing && !offloadToHost ? 2 : 0;
}
