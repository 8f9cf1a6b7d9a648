using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Causal attention limited to a window, as transformers 5 applies Mistral's / Qwen2's <c>sliding_window</c>
/// (masking_utils.sliding_window_overlay): the query at position i sees keys j with i − window &lt; j ≤ i, i.e. itself
/// and the window − 1 before it. Layout as <see cref="IAttentionBackend"/>: q [B,Hq,L,D] are the last L of the
/// S = cached + L positions in k/v [B,Hkv,S,D].
/// </summary>
/// <remarks>
/// K/V are first narrowed to the keys any query of the chunk can reach (the last window − 1 + L), so memory stays
/// O(L·(window + L)) however long the cache is; a chunk longer than <see cref="QueryBlock"/> (or the window) is split
/// into query blocks, so a whole-sequence forward costs O(S·(window + block)) rather than O(S²). When what is left is plain bottom-right causal attention (one query,
/// or no query's window cuts into the kept keys) the backend's own causal kernel runs; otherwise SDPA runs with an
/// explicit boolean mask — on CUDA this bypasses the add-on's fused cuDNN/flash kernels, which take no mask.
/// </remarks>
public static class SlidingWindowAttention
{
    /// <summary>Queries per block when a chunk is split (at least the window).</summary>
    internal static int QueryBlock = 1024;

    public static Tensor Attend(IAttentionBackend backend, Tensor q, Tensor k, Tensor v, int window, double scale)
    {
        if (window <= 0) throw new ArgumentOutOfRangeException(nameof(window), "the sliding window must be positive");
        using var scope = NewDisposeScope();
        long l = q.shape[2], s = k.shape[2];
        if (l > s) throw new ArgumentException($"causal attention with more queries ({l}) than keys ({s})");
        long block = Math.Max(window, QueryBlock);
        if (l > block && s > window)
        {
            // Each block of queries ends at key position (S − L) + end − 1; it needs the keys up to there.
            var outs = new List<Tensor>();
            for (long r0 = 0; r0 < l; r0 += block)
            {
                long lb = Math.Min(block, l - r0), keys = s - l + r0 + lb;
                outs.Add(Attend(backend, q.narrow(2, r0, lb), k.narrow(2, 0, keys), v.narrow(2, 0, keys), window, scale));
            }
            return cat(outs, 2).MoveToOuterDisposeScope();
        }
        // The first query sits at S − L and reaches back to S − L − window + 1.
        long start = Math.Max(0, s - l - window + 1);
        if (start > 0)
        {
            k = k.narrow(2, start, s - start);
            v = v.narrow(2, start, s - start);
        }
        long kept = s - start;
        // The last query (at S − 1) needs no cut when it reaches the first kept key; earlier queries then reach it too.
        if (l == 1 || kept <= window) return backend.Attend(q, k, v, causal: true, scale).MoveToOuterDisposeScope();
        return SdpaAttentionBackend.Run(q, k, v, scale, mask: Mask(l, kept, window, q.device)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// [L, S] true where query r (at position S − L + r) may attend key c: causal and within the window.
    /// </summary>
    public static Tensor Mask(long l, long s, int window, Device device)
    {
        using var scope = NewDisposeScope();
        var rows = arange(s - l, s, device: device).unsqueeze(1);
        var cols = arange(s, device: device).unsqueeze(0);
        return (cols <= rows).logical_and(cols > rows - window).MoveToOuterDisposeScope();
    }
}
