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
public sealed class LongSequenceLoss(int chunkTokens = ChunkedCrossEntropy.DefaultChunkTokens, bool checkpointLayers = true, bool offloadToHost = false) : ILossComputer
{
    readonly CheckpointedLayerRunner? runner = checkpointLayers ? new CheckpointedLayerRunner(offloadToHost) : null;

    public int ChunkTokens => chunkTokens;
    public bool CheckpointLayers => checkpointLayers;
    public bool OffloadToHost => offloadToHost;

    public Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch, IAttentionBackend backend)
    {
        using var scope = NewDisposeScope();
        var hidden = model.Forward(batch.InputIds, backend, cache: null, positionIds: batch.PositionIds, layerRunner: runner);
        return ChunkedCrossEntropy.Sum(hidden, model.LmHeadWeight, batch.Labels, chunkTokens).MoveToOuterDisposeScope();
    }
}
