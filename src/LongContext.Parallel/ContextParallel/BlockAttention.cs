using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Runs a list of <see cref="AttentionBlock"/>s through the fused attention-with-LSE kernels (cuDNN/flash on CUDA,
/// the fp32 math fallback elsewhere): forward into a <see cref="LseAccumulator"/>, backward into fp32 gradient
/// accumulators. q/output/gradOut/dq are [B, Hq, Lq, D], k/v/dk/dv [B, Hkv, S, D] with fewer heads under GQA
/// (never repeated), lse [B, Hq, Lq]. The backward of each block takes the rows' final output and LSE, so a block's
/// gradient needs nothing from the forward's other blocks.
/// </summary>
public static class BlockAttention
{
    public static void Forward(Tensor q, Tensor k, Tensor v, IReadOnlyList<AttentionBlock> blocks, LseAccumulator into,
        double? scale, AttentionKernel kernel = AttentionKernel.Auto)
    {
        foreach (var b in blocks)
        {
            using var scope = NewDisposeScope();
            var r = FusedAttention.Forward(Rows(q, b), Keys(k, b), Keys(v, b), b.Causal, scale, kernel);
            into.Add(r, b.BatchStart, b.QueryStart);
        }
    }

    /// <summary>Adds each block's gradients into <paramref name="dq"/>, <paramref name="dk"/> and <paramref name="dv"/> (fp32).</summary>
    public static void Backward(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        IReadOnlyList<AttentionBlock> blocks, Tensor dq, Tensor dk, Tensor dv, double? scale, AttentionKernel kernel = AttentionKernel.Auto)
    {
        foreach (var b in blocks)
        {
            using var scope = NewDisposeScope();
            var (gq, gk, gv) = FusedAttention.Backward(Rows(gradOut, b), Rows(q, b), Keys(k, b), Keys(v, b), Rows(output, b),
                Rows(lse, b), b.Causal, scale, kernel);
            Rows(dq, b).add_(gq);
            Keys(dk, b).add_(gk);
            Keys(dv, b).add_(gv);
        }
    }

    // The block's batch rows and query rows of a [B, H, L, ...] tensor (LSE included: its dim 2 is the sequence too).
    static Tensor Rows(Tensor x, AttentionBlock b) => x.narrow(0, b.BatchStart, b.BatchCount).narrow(2, b.QueryStart, b.QueryLength);

    static Tensor Keys(Tensor x, AttentionBlock b) => x.narrow(0, b.BatchStart, b.BatchCount).narrow(2, b.KeyStart, b.KeyLength);
}
