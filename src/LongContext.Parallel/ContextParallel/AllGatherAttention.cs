using LongContext.Core.Attention;
using LongContext.Parallel.Distributed;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Llama-3-style context parallelism on the zigzag layout: every rank all-gathers the K/V of the whole sequence and
/// computes its two chunks' queries against it in one pass (<see cref="ZigzagBlocks.AllGather"/>), so a query's
/// keys are merged once and document masks cost nothing extra in traffic. The zigzag layout keeps the ranks'
/// work equal. Memory: the gathered K/V of the whole sequence, unless <paramref name="kvHeadsPerGather"/> limits a
/// gather to that many KV heads (the next group's gather is posted before the current one is computed, as
/// ring-flash-attention's <c>heads_k_stride</c>). The backward gathers again, accumulates dK/dV of the whole
/// sequence in fp32 and reduce-scatters them to their owners.
/// </summary>
public sealed class AllGatherAttention(IProcessGroup group, int kvHeadsPerGather = 0, AttentionKernel kernel = AttentionKernel.Auto)
    : IContextParallelAttention
{
    public string Name => "allgather";
    public int Rank => group.Rank;
    public int WorldSize => group.Size;

    public AttentionResult Forward(Tensor q, Tensor k, Tensor v, ContextParallelCall call)
    {
        var layout = call.Layout;
        var (b, hq, hkv, d) = layout.CheckShard(q, k, v, group.Size, "all-gather");
        using var scope = NewDisposeScope();
        long g = hq / hkv;
        var blocks = ZigzagBlocks.AllGather(layout, group.Rank, b, call.Causal, call.Documents);
        using var running = LseAccumulator.Empty(b, hq, layout.LocalLength, d, q.device);
        ForEachHeadGroup(layout, k, v, (h0, hn, kg, vg) =>
            BlockAttention.Forward(q.narrow(1, h0 * g, hn * g), kg, vg, blocks, running.Heads(h0 * g, hn * g), call.Scale, kernel));
        var result = running.Result(q.dtype);
        return new AttentionResult(result.Output.MoveToOuterDisposeScope(), result.Lse.MoveToOuterDisposeScope());
    }

    public (Tensor dq, Tensor dk, Tensor dv) Backward(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        ContextParallelCall call)
    {
        var layout = call.Layout;
        var (b, hq, hkv, d) = layout.CheckShard(q, k, v, group.Size, "all-gather");
        using var scope = NewDisposeScope();
        long g = hq / hkv;
        var blocks = ZigzagBlocks.AllGather(layout, group.Rank, b, call.Causal, call.Documents);
        var dq = zeros(q.shape, dtype: ScalarType.Float32, device: q.device);
        var dk = empty(k.shape, dtype: k.dtype, device: k.device);
        var dv = empty(v.shape, dtype: v.dtype, device: v.device);
        // One reduce-scatter per head group, each left in flight while the next group computes.
        var scatters = new List<(IWork Work, Tensor Mine, long H0, long Hn)>();
        try
        {
            ForEachHeadGroup(layout, k, v, (h0, hn, kg, vg) =>
            {
                var dkv = zeros([2, b, hn, layout.SequenceLength, d], dtype: ScalarType.Float32, device: q.device);
                Tensor Heads(Tensor x) => x.narrow(1, h0 * g, hn * g);
                BlockAttention.Backward(Heads(gradOut), Heads(q), kg, vg, Heads(output), Heads(lse), blocks, Heads(dq), dkv[0], dkv[1], call.Scale, kernel);
                // By rank (each rank's two chunks side by side), then summed over ranks into the owner's slice.
                var byRank = cat([.. Enumerable.Range(0, group.Size).Select(r => layout.Shard(dkv, r, dim: 3))], 0);
                var mine = empty([2, b, hn, layout.LocalLength, d], dtype: ScalarType.Float32, device: q.device);
                scatters.Add((group.ReduceScatterAsync(mine, byRank), mine.DetachFromDisposeScope(), h0, hn));
            });
            foreach (var (work, mine, h0, hn) in scatters)
            {
                work.Wait();
                dk.narrow(1, h0, hn).copy_(mine[0]);
                dv.narrow(1, h0, hn).copy_(mine[1]);
            }
        }
        finally
        {
            foreach (var s in scatters)
            {
                s.Work.Dispose();
                s.Mine.Dispose();
            }
        }
        return (dq.to(q.dtype).MoveToOuterDisposeScope(), dk.MoveToOuterDisposeScope(), dv.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Calls <paramref name="body"/>(h0, hn, k, v) with the K/V of the whole sequence in position order, [B, hn, L, D]
    /// each, for one group of KV heads at a time; the next group's all-gather is in flight meanwhile. What the body
    /// allocates is freed when it returns.
    /// </summary>
    void ForEachHeadGroup(ZigzagLayout layout, Tensor k, Tensor v, Action<long, long, Tensor, Tensor> body)
    {
        long hkv = k.shape[1], per = kvHeadsPerGather > 0 ? Math.Min(kvHeadsPerGather, hkv) : hkv;
        (IWork Work, Tensor Buffer) Post(long h0, long hn)
        {
            using var local = stack([k.narrow(1, h0, hn), v.narrow(1, h0, hn)]);   // [2, B, hn, 2c, D]
            var all = empty([2L * group.Size, .. local.shape[1..]], dtype: local.dtype, device: local.device).DetachFromDisposeScope();
            return (group.AllGatherAsync(all, local), all);
        }
        (IWork Work, Tensor Buffer)? pending = Post(0, Math.Min(per, hkv));
        try
        {
            for (long h0 = 0; h0 < hkv; h0 += per)
            {
                long hn = Math.Min(per, hkv - h0);
                var (work, all) = pending!.Value;
                pending = null;
                try
                {
                    if (h0 + hn < hkv) pending = Post(h0 + hn, Math.Min(per, hkv - h0 - hn));
                    work.Wait();
                    using var scope = NewDisposeScope();
                    var kg = layout.Unshard([.. Enumerable.Range(0, group.Size).Select(r => all[2 * r])], dim: 2);
                    var vg = layout.Unshard([.. Enumerable.Range(0, group.Size).Select(r => all[2 * r + 1])], dim: 2);
                    body(h0, hn, kg, vg);
                }
                finally
                {
                    work.Dispose();
                    all.Dispose();
                }
            }
        }
        finally
        {
            // A failure mid-way leaves the next group's gather posted: release it too.
            if (pending is { } next)
            {
                next.Work.Dispose();
                next.Buffer.Dispose();
            }
        }
    }
}
