using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Attention-with-LSE kernels (add-on on CUDA, math fallback elsewhere) with their own backward. A document mask
/// runs as one causal kernel call per document segment inside a single autograd node (<see cref="DocumentAttention"/>).
/// </summary>
public sealed class FusedAttentionBackend(AttentionKernel kernel = AttentionKernel.Auto) : IAttentionBackend
{
    public string Name => kernel == AttentionKernel.Auto ? "fused" : "fused-" + kernel.ToString().ToLowerInvariant();

    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale) =>
        q.requires_grad || k.requires_grad || v.requires_grad
            ? AttentionFunction.Apply(q, k, v, causal, scale, kernel)
            : DisposeLse(FusedAttention.Forward(q, k, v, causal, scale, kernel));

    public Tensor Attend(Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale)
    {
        // Whole rows under a document mask (the training case): the fused per-segment path. Everything else
        // (plain causal, sliding windows, prefix shards) as every single-device backend does it.
        if (mask.Documents is not { } documents || mask.SlidingWindow is not null || mask.Shard is { IsWhole: false })
            return MaskedAttention.Attend(this, q, k, v, mask, scale);
        DocumentAttention.CheckShapes(q, k, documents);
        return q.requires_grad || k.requires_grad || v.requires_grad
            ? AttentionFunction.Apply(q, k, v, documents, scale, kernel)
            : DisposeLse(DocumentAttention.Forward(q, k, v, documents, scale, kernel));
    }

    static Tensor DisposeLse(AttentionResult r)
    {
        r.Lse.Dispose();
        return r.Output;
    }
}
