using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// What one context-parallel attention call covers: how the batch's rows are laid out over the group, the packed
/// documents of the whole rows (global coordinates; null: one document per row), causal or not, and the softmax scale
/// (null: 1/√D).
/// </summary>
public sealed record ContextParallelCall(ZigzagLayout Layout, DocumentSegments? Documents = null, bool Causal = true, double? Scale = null);

/// <summary>
/// Attention of one rank's zigzag shard against the whole sequence, computed together with the other ranks of its
/// context-parallel group: q [B, Hq, 2c, D] and k/v [B, Hkv, 2c, D] are this rank's two chunks
/// (<see cref="ZigzagLayout"/>). Every rank of the group must call Forward (and Backward) with the same shapes and
/// call, in the same order. <see cref="ContextParallelAttentionBackend"/> puts an implementation behind the model's
/// attention seam; <see cref="ContextParallelAttentionFunction"/> gives it autograd.
/// </summary>
public interface IContextParallelAttention
{
    /// <summary>"ring" or "allgather".</summary>
    string Name { get; }
    /// <summary>This rank in the context-parallel group.</summary>
    int Rank { get; }
    /// <summary>Ranks in the context-parallel group (the layout's N).</summary>
    int WorldSize { get; }

    /// <summary>Output in q's dtype and fp32 LSE of this rank's queries.</summary>
    AttentionResult Forward(Tensor q, Tensor k, Tensor v, ContextParallelCall call);

    /// <summary>Gradients of this rank's q, k, v (dk/dv summed over every rank's queries that saw them).</summary>
    (Tensor dq, Tensor dk, Tensor dv) Backward(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, ContextParallelCall call);
}
