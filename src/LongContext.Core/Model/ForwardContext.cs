using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Core.Model;

/// <summary>
/// Everything one forward needs besides the token ids, carried unchanged from the batch to each attention call:
/// the attention backend, the RoPE positions and length, and — for packed or sharded training batches — the
/// document segments and which tokens of the row this forward holds. The model passes it through; only
/// <see cref="LlamaAttention"/> reads the mask parts and only the rotary tables read the positions.
/// </summary>
/// <param name="Attention">Computes attention (<see cref="IAttentionBackend"/>: SDPA, fused kernels, ring attention).</param>
public sealed record ForwardContext(IAttentionBackend Attention)
{
    /// <summary>RoPE position of each token, [B, L] int64 (restarting per document when the packer resets them);
    /// null: cache.Length … cache.Length + L − 1.</summary>
    public Tensor? PositionIds { get; init; }

    /// <summary>
    /// For RoPE types whose frequencies depend on the sequence length (dynamic, longrope): 1 + the largest position of
    /// the WHOLE input, as transformers computes it — the full prompt during chunked prefill, the unsharded batch under
    /// sequence parallelism, so every chunk and every rank rotates exactly as one forward over everything would.
    /// Null: 1 + the largest position of this forward.
    /// </summary>
    public int? RopeSequenceLength { get; init; }

    /// <summary>Packed documents (in whole-row coordinates): no attention across their boundaries. Null: one per row.</summary>
    public DocumentSegments? Documents { get; init; }

    /// <summary>Which tokens of a longer row this forward holds (sequence parallelism). Null: the whole row.</summary>
    public SequenceShard? Shard { get; init; }

    /// <summary>The attention mask of a layer with this sliding window (null: full causal).</summary>
    public AttentionMask MaskFor(int? slidingWindow) =>
        slidingWindow is null && Documents is null && Shard is null
            ? AttentionMask.Causal
            : new AttentionMask { SlidingWindow = slidingWindow, Documents = Documents, Shard = Shard };
}
