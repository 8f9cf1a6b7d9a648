using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Reference attention in fp32 with log-sum-exp, forward and backward, in pure TorchSharp: the fallback when the
/// native add-on is absent (CPU, CI) and the yardstick the add-on is checked against. Works on blocks of query rows
/// so the score matrix never exceeds a fixed budget, and handles GQA by grouping query heads per KV head (K/V are
/// never repeated). Causal masking is bottom-right aligned: query i (of L) sees keys j ≤ i + (S − L).
/// </summary>
public static class MathAttention
{
    internal static long BlockElements = 32L << 20; // score elements per block (fp32): 128 MiB; tests shrink it

    public static AttentionResult Forward(Tensor q, Tensor k, Tensor v, bool causal, double? scale = null)
    {
        var (b, hq, l, d, hkv, s, g) = Shapes(q, k, v);
        double sc = scale ?? 1.0 / Math.Sqrt(d);
        var cd = ComputeType(q);
        using var scope = NewDisposeScope();
        var kf = k.to(cd);
        var vf = v.to(cd);
        var outs = new List<Tensor>();
        var lses = new List<Tensor>();
        foreach (var (l0, lb) in Blocks(b, hq, l, s))
        {
            var qb = Group(q.narrow(2, l0, lb).to(cd), hkv, g);          // [B, Hkv, G*lb, D]
            var scores = matmul(qb, kf.transpose(-2, -1)).mul_(sc);                       // [B, Hkv, G*lb, S]
            if (causal) scores = scores.masked_fill(CausalMask(l0, lb, l, s, g, q.device), double.NegativeInfinity);
            var lse = scores.logsumexp(-1, keepdim: true);                                 // [B, Hkv, G*lb, 1]
            var p = exp(scores - lse).nan_to_num(0.0);
            outs.Add(Ungroup(matmul(p, vf), hq, lb));
            lses.Add(lse.squeeze(-1).reshape(b, hq, lb));
        }
        var output = cat(outs, 2).to(q.dtype);
        var lseAll = cat(lses, 2);
        return new AttentionResult(output.MoveToOuterDisposeScope(), lseAll.MoveToOuterDisposeScope());
    }

    /// <summary>Gradients given the final output and log-sum-exp of each query row (which may come from a merge).</summary>
    public static (Tensor dq, Tensor dk, Tensor dv) Backward(Tensor gradOut, Tensor q, Tensor k, Tensor v,
        Tensor output, Tensor lse, bool causal, double? scale = null)
    {
        var (b, hq, l, d, hkv, s, g) = Shapes(q, k, v);
        double sc = scale ?? 1.0 / Math.Sqrt(d);
        var cd = ComputeType(q);
        using var scope = NewDisposeScope();
        var kf = k.to(cd);
        var vf = v.to(cd);
        var dk = zeros_like(kf);
        var dv = zeros_like(vf);
        var dqs = new List<Tensor>();
        foreach (var (l0, lb) in Blocks(b, hq, l, s))
        {
            var qb = Group(q.narrow(2, l0, lb).to(cd), hkv, g);
            var dob = Group(gradOut.narrow(2, l0, lb).to(cd), hkv, g);
            var ob = Group(output.narrow(2, l0, lb).to(cd), hkv, g);
            var lseb = lse.narrow(2, l0, lb).to(cd).reshape(b, hkv, g * lb, 1);
            var scores = matmul(qb, kf.transpose(-2, -1)).mul_(sc);
            if (causal) scores = scores.masked_fill(CausalMask(l0, lb, l, s, g, q.device), double.NegativeInfinity);
            var p = exp(scores - lseb).nan_to_num(0.0);                                    // [B, Hkv, G*lb, S]
            dv.add_(matmul(p.transpose(-2, -1), dob));
            var dp = matmul(dob, vf.transpose(-2, -1));
            var delta = (dob * ob).sum(-1, keepdim: true);
            var ds = p * (dp - delta);
            dqs.Add(Ungroup(matmul(ds, kf).mul_(sc), hq, lb));
            dk.add_(matmul(ds.transpose(-2, -1), qb).mul_(sc));
        }
        var dq = cat(dqs, 2).to(q.dtype);
        return (dq.MoveToOuterDisposeScope(), dk.to(k.dtype).MoveToOuterDisposeScope(), dv.to(v.dtype).MoveToOuterDisposeScope());
    }

    // fp32 for everything but fp64 inputs, which references and tests use.
    static ScalarType ComputeType(Tensor q) => q.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    internal static (long b, long hq, long l, long d, long hkv, long s, long g) Shapes(Tensor q, Tensor k, Tensor v)
    {
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
            throw new ArgumentException($"attention expects [B, H, L, D] tensors; got q {Fmt(q)}, k {Fmt(k)}, v {Fmt(v)}");
        long b = q.shape[0], hq = q.shape[1], l = q.shape[2], d = q.shape[3];
        long hkv = k.shape[1], s = k.shape[2];
        if (k.shape[0] != b || v.shape[0] != b || k.shape[3] != d || v.shape[1] != hkv || v.shape[2] != s)
            throw new ArgumentException($"attention shapes disagree: q {Fmt(q)}, k {Fmt(k)}, v {Fmt(v)}");
        if (hq % hkv != 0) throw new ArgumentException($"query heads {hq} are not a multiple of key/value heads {hkv}");
        return (b, hq, l, d, hkv, s, hq / hkv);
    }

    static string Fmt(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    static IEnumerable<(long start, long length)> Blocks(long b, long hq, long l, long s)
    {
        long rows = Math.Max(1, BlockElements / Math.Max(1, b * hq * s));
        for (long start = 0; start < l; start += rows) yield return (start, Math.Min(rows, l - start));
    }

    // [B, Hq, lb, D] → [B, Hkv, G*lb, D]: query heads h = j*G + i belong to KV head j (HF repeat_kv order).
    static Tensor Group(Tensor x, long hkv, long g) =>
        x.reshape(x.shape[0], hkv, g * x.shape[2], x.shape[3]);

    static Tensor Ungroup(Tensor x, long hq, long lb) => x.reshape(x.shape[0], hq, lb, x.shape[3]);

    // True where masked, shaped [G*lb, S] to broadcast over [B, Hkv, G*lb, S].
    static Tensor CausalMask(long l0, long lb, long l, long s, long g, Device device)
    {
        var rows = arange(l0, l0 + lb, device: device).unsqueeze(1) + (s - l);
        var cols = arange(s, device: device).unsqueeze(0);
        return (cols > rows).repeat(g, 1);
    }
}
