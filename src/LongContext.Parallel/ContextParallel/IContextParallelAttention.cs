using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Attention of one rank's zigzag shard against the whole sequence, computed together with the other ranks of its
/// context-parallel group: q [B, Hq, 2c, D] and k/v [B, Hkv, 2c, D] are this rank's two chunks
/// (<see cref="ZigzagLayout"/>). Every rank of the group must call Forward (and Backward) with the same shapes, in
/// the same order. <see cref="ContextParallelAttentionBackend"/> puts an implementation behind the model's attention
/// seam; <see cref="ContextParallelAttentionFunction"/> gives it autograd.
/// </summary>
public interface IContextParallelAttention
{
    /// <summary>"ring" or "allgather".</summary>
    string Name { get; }
    ZigzagLayout Layout { get; }
    /// <summary>Document boundaries of the global sequence, or null for plain causal attention.</summary>
    PackedDocuments? Documents { get; }

    /// <summary>Output in q's dtype and fp32 LSE of this rank's queries.</summary>
    AttentionResult Forward(Tensor q, Tensor k, Tensor v, bool causal, double? scale);

    /// <summary>Gradients of this rank's q, k, v (dk/dv summed over every rank's queries that saw them).</summary>
    (Tensor dq, Tensor dk, Tensor dv) Backward(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        bool causal, double? scale);
}
