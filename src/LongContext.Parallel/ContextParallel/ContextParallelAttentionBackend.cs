using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Context-parallel attention behind the model's <see cref="IAttentionBackend"/> seam: the model is unchanged and
/// hands over this rank's shard of each row with an <see cref="AttentionMask"/> whose <see cref="AttentionMask.Shard"/>
/// is this rank's zigzag shard (<see cref="ZigzagLayout.ShardOf"/>) and whose documents, if any, are those of the
/// whole rows; the backend attends over the whole sequence together with the other ranks of the group. One backend
/// serves a whole run (each call reads its layout from the mask).
/// <para>
/// Ring prefill for inference plugs in here too: a prompt longer than one GPU holds is sharded over the group like a
/// training row, this backend serves the prefill forward (no KV cache: L = S = the shard) and each rank keeps its
/// shard's K/V. Decoding then needs attention of the new token over K/V spread across the ranks: each rank attends
/// its K/V (a non-causal block), and the partial results merge by LSE (<see cref="LseAccumulator"/>) after an
/// all-gather of the per-rank outputs and LSEs. That decode backend and the sharded KV cache are not built yet.
/// </para>
/// </summary>
public sealed class ContextParallelAttentionBackend(IContextParallelAttention attention) : IAttentionBackend
{
    public string Name => "cp-" + attention.Name;
    public IContextParallelAttention Attention => attention;

    /// <summary>The model's call: the mask says which tokens of the rows this rank holds and where documents begin.</summary>
    public Tensor Attend(Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale)
    {
        if (mask.SlidingWindow is int window) throw SlidingWindowRefused(window);
        var shard = mask.Shard ?? (attention.WorldSize == 1 ? SequenceShard.Whole(q.shape[2])
            : throw new ContextParallelException(
                $"context-parallel attention (cp = {attention.WorldSize}) got a forward without a sequence shard: shard each row with "
                + "ZigzagLayout.ShardOf(rank) and pass it as the forward's Shard."));
        if (shard.LocalLength != q.shape[2])
            throw new ContextParallelException($"the sequence shard holds {shard.LocalLength} tokens but the queries are {q.shape[2]}.");
        var layout = ZigzagLayout.Of(shard, attention.WorldSize, attention.Rank);
        return Run(q, k, v, new ContextParallelCall(layout, mask.Documents, Causal: true, scale));
    }

    /// <summary>
    /// A kernel-level call without a mask: q/k/v are taken to be this rank's zigzag shard of a row of
    /// WorldSize × L tokens (plain causal or full attention, no documents).
    /// </summary>
    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale) =>
        Run(q, k, v, new ContextParallelCall(new ZigzagLayout(attention.WorldSize, q.shape[2] * attention.WorldSize), null, causal, scale));

    public Tensor AttendSlidingWindow(Tensor q, Tensor k, Tensor v, int window, double scale) => throw SlidingWindowRefused(window);

    Tensor Run(Tensor q, Tensor k, Tensor v, ContextParallelCall call)
    {
        if (q.requires_grad || k.requires_grad || v.requires_grad) return ContextParallelAttentionFunction.Apply(attention, q, k, v, call);
        var r = attention.Forward(q, k, v, call);
        r.Lse.Dispose();
        return r.Output;
    }

    static ContextParallelException SlidingWindowRefused(int window) => new(
        $"sliding-window attention (window {window}) is not supported under context parallelism: train this model with cp = 1, "
        + "or without its sliding window.");
}
