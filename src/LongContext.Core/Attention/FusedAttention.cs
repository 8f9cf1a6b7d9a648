using LongContext.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>Which kernel computes attention-with-LSE.</summary>
public enum AttentionKernel
{
    /// <summary>cuDNN on CUDA if the add-on is loaded (FlashAttention-2 if cuDNN refuses), else the math fallback.</summary>
    Auto = 0,
    Cudnn = 1,
    Flash = 2,
    /// <summary>Pure TorchSharp fp32 (<see cref="MathAttention"/>).</summary>
    Math = 3,
}

/// <summary>
/// Attention that returns the log-sum-exp, forward and backward: the add-on's fused kernels on CUDA, the math
/// fallback elsewhere. Layout [B, H, L, D]; K/V may have fewer heads (GQA). Causal masking with L &lt; S is
/// bottom-right aligned (the queries are the last L positions), computed as a causal square block merged with a
/// non-causal prefix block, so kernels only ever see the two shapes they all agree on.
/// </summary>
public static class FusedAttention
{
    public static bool UsesNative(Tensor q, AttentionKernel kernel = AttentionKernel.Auto) =>
        kernel != AttentionKernel.Math && q.device_type == DeviceType.CUDA && NativeAddon.IsAvailable
        && (q.dtype == ScalarType.BFloat16 || q.dtype == ScalarType.Float16);

    public static AttentionResult Forward(Tensor q, Tensor k, Tensor v, bool causal, double? scale = null,
        AttentionKernel kernel = AttentionKernel.Auto)
    {
        if (!UsesNative(q, kernel)) return MathAttention.Forward(q, k, v, causal, scale);
        var (_, _, l, _, _, s, _) = MathAttention.Shapes(q, k, v);
        if (causal && l == 1) causal = false; // one query at the end sees every key
        if (l > s && causal) throw new ArgumentException($"causal attention with more queries ({l}) than keys ({s})");
        if (!causal) return NativeForward(q, k, v, false, scale, kernel);
        return CausalInBlocks(q, k, v, MaxCausalBlock, (bq, bk, bv, c) => NativeForward(bq, bk, bv, c, scale, kernel));
    }

    /// <summary>
    /// Longest causal square handed to one kernel call. cuDNN 9.19's causal kernel on an H100 runs 131,072 queries at
    /// 521 TFLOP/s but 65,536 at 615, and the same 131,072 split into two query blocks (a causal diagonal each, the
    /// second beside a non-causal block over the first half's keys, merged by LSE) at 610
    /// (bench/attention_chunk_probe.py; docs/results/README.md).
    /// </summary>
    public const long MaxCausalBlock = 65536;

    /// <summary>
    /// Bottom-right aligned causal attention of q's L queries over S ≥ L keys from kernels that only take a causal
    /// square or a full (non-causal) block: queries in blocks of at most <paramref name="maxBlock"/>, each a causal
    /// diagonal merged with a non-causal block over all earlier keys. <paramref name="attend"/>(q, k, v, causal) runs one
    /// kernel call.
    /// </summary>
    internal static AttentionResult CausalInBlocks(Tensor q, Tensor k, Tensor v, long maxBlock,
        Func<Tensor, Tensor, Tensor, bool, AttentionResult> attend)
    {
        long l = q.shape[2], s = k.shape[2];
        if (l <= maxBlock) return PrefixAndDiagonal(q, k, v, attend);
        using var scope = NewDisposeScope();
        long blocks = (l + maxBlock - 1) / maxBlock, size = (l + blocks - 1) / blocks, offset = s - l;
        // Output in [B, L, H, D] memory like the kernels' own, so the model's merge of heads stays a view.
        var output = empty([q.shape[0], l, q.shape[1], v.shape[3]], dtype: q.dtype, device: q.device).transpose(1, 2);
        var lse = empty([q.shape[0], q.shape[1], l], dtype: ScalarType.Float32, device: q.device);
        for (long start = 0; start < l; start += size)
        {
            using var blockScope = NewDisposeScope();
            long n = Math.Min(size, l - start), keys = offset + start + n;
            var r = PrefixAndDiagonal(q.narrow(2, start, n), k.narrow(2, 0, keys), v.narrow(2, 0, keys), attend);
            output.narrow(2, start, n).copy_(r.Output);
            lse.narrow(2, start, n).copy_(r.Lse);
        }
        return new AttentionResult(output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }

    /// <summary>The queries are the last L of S positions: non-causal over the S − L earlier keys, causal on the diagonal.</summary>
    static AttentionResult PrefixAndDiagonal(Tensor q, Tensor k, Tensor v, Func<Tensor, Tensor, Tensor, bool, AttentionResult> attend)
    {
        long l = q.shape[2], s = k.shape[2];
        if (l == s) return attend(q, k, v, true);
        using var scope = NewDisposeScope();
        long prefix = s - l;
        var head = attend(q, k.narrow(2, 0, prefix), v.narrow(2, 0, prefix), false);
        var diag = attend(q, k.narrow(2, prefix, l), v.narrow(2, prefix, l), true);
        var merged = LseMerge.Merge(head, diag);
        return new AttentionResult(merged.Output.MoveToOuterDisposeScope(), merged.Lse.MoveToOuterDisposeScope());
    }

    public static (Tensor dq, Tensor dk, Tensor dv) Backward(Tensor gradOut, Tensor q, Tensor k, Tensor v,
        Tensor output, Tensor lse, bool causal, double? scale = null, AttentionKernel kernel = AttentionKernel.Auto)
    {
        if (!UsesNative(q, kernel)) return MathAttention.Backward(gradOut, q, k, v, output, lse, causal, scale);
        var (_, _, l, _, _, s, _) = MathAttention.Shapes(q, k, v);
        if (causal && l == 1) causal = false;
        if (!causal || l == s) return NativeBackward(gradOut, q, k, v, output, lse, causal, scale, kernel);
        using var scope = NewDisposeScope();
        long prefix = s - l;
        // Each block's gradient uses the final output and LSE, exactly as ring attention's backward does.
        var (dq1, dk1, dv1) = NativeBackward(gradOut, q, k.narrow(2, 0, prefix), v.narrow(2, 0, prefix), output, lse, false, scale, kernel);
        var (dq2, dk2, dv2) = NativeBackward(gradOut, q, k.narrow(2, prefix, l), v.narrow(2, prefix, l), output, lse, true, scale, kernel);
        return ((dq1 + dq2).MoveToOuterDisposeScope(), cat([dk1, dk2], 2).MoveToOuterDisposeScope(), cat([dv1, dv2], 2).MoveToOuterDisposeScope());
    }

    /// <summary>Which native kernel ran last (for doctor/selftest): "cudnn", "flash" or "math".</summary>
    public static string LastKernel { get; private set; } = "math";

    static AttentionResult NativeForward(Tensor q, Tensor k, Tensor v, bool causal, double? scale, AttentionKernel kernel)
    {
        // The kernels take any layout whose last dimension is dense (the model passes [B, L, H, D] memory viewed
        // as [B, H, L, D]); copying to contiguous would cost three passes over q, k and v per layer.
        using var qc = DenseLastDim(q);
        using var kc = DenseLastDim(k);
        using var vc = DenseLastDim(v);
        NativeAddon.Check(NativeAddon.lc_attention_forward(qc.Handle, kc.Handle, vc.Handle, causal ? 1 : 0, scale ?? 0,
            (int)kernel, out var o, out var lse, out int used), "attention forward");
        LastKernel = used == 1 ? "cudnn" : "flash";
        return new AttentionResult(NativeAddon.Adopt(o), NativeAddon.Adopt(lse));
    }

    static Tensor DenseLastDim(Tensor t) => t.stride(-1) == 1 ? t.alias() : t.contiguous();

    static (Tensor, Tensor, Tensor) NativeBackward(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        bool causal, double? scale, AttentionKernel kernel)
    {
        using var dO = gradOut.to(q.dtype).contiguous();
        using var qc = q.contiguous();
        using var kc = k.contiguous();
        using var vc = v.contiguous();
        using var oc = output.to(q.dtype).contiguous();
        using var lc = lse.to(ScalarType.Float32).contiguous();
        NativeAddon.Check(NativeAddon.lc_attention_backward(dO.Handle, qc.Handle, kc.Handle, vc.Handle, oc.Handle, lc.Handle,
            causal ? 1 : 0, scale ?? 0, (int)kernel, out var dq, out var dk, out var dv), "attention backward");
        return (NativeAddon.Adopt(dq), NativeAddon.Adopt(dk), NativeAddon.Adopt(dv));
    }
}
