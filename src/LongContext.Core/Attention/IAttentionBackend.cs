using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// The seam between the model and how attention is computed. The model hands over q [B,Hq,L,D] and the keys and
/// values it may attend to, k/v [B,Hkv,S,D] with S ≥ L (the cache plus this chunk; the queries are the last L
/// positions), and never knows whether the result comes from one GPU or a ring of them (LongContext.Parallel
/// implements this interface for sequence parallelism).
/// </summary>
public interface IAttentionBackend
{
    string Name { get; }
    Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale);

    /// <summary>
    /// Causal attention where each query sees only the <paramref name="window"/> most recent keys, itself included
    /// (Mistral/Qwen2 <c>sliding_window</c>). The default narrows K/V to the reachable keys and uses <see cref="Attend"/>
    /// or masked SDPA (<see cref="SlidingWindowAttention"/>); a backend whose K/V are not the whole sequence (ring
    /// attention) must override it or refuse.
    /// </summary>
    Tensor AttendSlidingWindow(Tensor q, Tensor k, Tensor v, int window, double scale) =>
        SlidingWindowAttention.Attend(this, q, k, v, window, scale);
}

/// <summary>TorchSharp's SDPA. K/V are repeated for GQA (TorchSharp has no enable_gqa); fine on CPU.</summary>
public sealed class SdpaAttentionBackend : IAttentionBackend
{
    public string Name => "sdpa";

    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale)
    {
        using var scope = NewDisposeScope();
        long groups = q.shape[1] / k.shape[1];
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1);
            v = v.repeat_interleave(groups, dim: 1);
        }
        long l = q.shape[2], s = k.shape[2];
        // SDPA scales by 1/sqrt(D); pre-scale q when the model asks for another scale.
        double defaultScale = 1.0 / Math.Sqrt(q.shape[3]);
        if (Math.Abs(scale - defaultScale) > 1e-12 * defaultScale) q = q * (scale / defaultScale);
        Tensor result;
        if (!causal || l == 1) result = nn.functional.scaled_dot_product_attention(q, k, v);
        else if (l == s) result = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        else
        {
            // Bottom-right aligned causal mask for a chunk of queries at the end of the keys (true = attend).
            var rows = arange(s - l, s, device: q.device).unsqueeze(1);
            var cols = arange(s, device: q.device).unsqueeze(0);
            result = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: cols <= rows);
        }
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>Attention-with-LSE kernels (add-on on CUDA, math fallback elsewhere) with their own backward.</summary>
public sealed class FusedAttentionBackend(AttentionKernel kernel = AttentionKernel.Auto) : IAttentionBackend
{
    public string Name => kernel == AttentionKernel.Auto ? "fused" : "fused-" + kernel.ToString().ToLowerInvariant();

    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale) =>
        q.requires_grad || k.requires_grad || v.requires_grad
            ? AttentionFunction.Apply(q, k, v, causal, scale, kernel)
            : FusedAttention.Forward(q, k, v, causal, scale, kernel).DisposeLse();
}

internal static class AttentionResultExtensions
{
    public static Tensor DisposeLse(this AttentionResult r)
    {
        r.Lse.Dispose();
        return r.Output;
    }
}
