using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>TorchSharp's SDPA. K/V are repeated for GQA (TorchSharp has no enable_gqa); fine on CPU.</summary>
public sealed class SdpaAttentionBackend : IAttentionBackend
{
    public string Name => "sdpa";

    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale)
    {
        using var scope = NewDisposeScope();
        long l = q.shape[2], s = k.shape[2];
        Tensor result;
        if (!causal || l == 1) result = Run(q, k, v, scale);
        else if (l == s) result = Run(q, k, v, scale, causal: true);
        else
        {
            // Bottom-right aligned causal mask for a chunk of queries at the end of the keys (true = attend).
            var rows = arange(s - l, s, device: q.device).unsqueeze(1);
            var cols = arange(s, device: q.device).unsqueeze(0);
            result = Run(q, k, v, scale, mask: cols <= rows);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// TorchSharp's scaled_dot_product_attention with what it lacks: K/V repeated for GQA, and q pre-scaled when the
    /// scale is not 1/sqrt(D) (it has no scale argument). <paramref name="mask"/>: true = attend.
    /// </summary>
    internal static Tensor Run(Tensor q, Tensor k, Tensor v, double scale, Tensor? mask = null, bool causal = false)
    {
        using var scope = NewDisposeScope();
        long groups = q.shape[1] / k.shape[1];
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1);
            v = v.repeat_interleave(groups, dim: 1);
        }
        double defaultScale = 1.0 / Math.Sqrt(q.shape[3]);
        if (Math.Abs(scale - defaultScale) > 1e-12 * defaultScale) q = q * (scale / defaultScale);
        return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask, is_casual: causal).MoveToOuterDisposeScope();
    }
}
