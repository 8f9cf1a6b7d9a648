using LongContext.Core.Attention;
using LongContext.Parallel.Distributed;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Zigzag ring attention (design.md §5): N steps; at step s this rank holds the K/V of rank (r − s) mod N and
/// computes the blocks <see cref="ZigzagBlocks.RingStep"/> assigns, while the next K/V already travels (rank r sends
/// to r+1 and receives from r−1 in one batched send/recv, double-buffered, on the group's communication stream).
/// K/V cross the ring with their own head count (GQA: Hq/Hkv times less traffic than repeated heads). The running
/// output and LSE stay fp32 across hops (<see cref="LseAccumulator"/>). The backward re-runs the ring: dq stays
/// local (fp32), dk/dv (fp32) travel with the K/V and arrive home after the last hop.
/// Packed documents are supported: each step computes only the sub-blocks within a document (every rank still
/// passes every K/V along, so the traffic is that of plain causal attention).
/// </summary>
public sealed class RingAttention(IProcessGroup group, AttentionKernel kernel = AttentionKernel.Auto) : IContextParallelAttention
{
    public string Name => "ring";
    public int Rank => group.Rank;
    public int WorldSize => group.Size;

    int Next => (group.Rank + 1) % group.Size;
    int Previous => (group.Rank - 1 + group.Size) % group.Size;
    int SourceAt(int step) => (group.Rank - step + group.Size) % group.Size;

    public AttentionResult Forward(Tensor q, Tensor k, Tensor v, ContextParallelCall call)
    {
        var layout = call.Layout;
        var (b, hq, _, d) = layout.CheckShard(q, k, v, group.Size, "ring");
        using var scope = NewDisposeScope();
        int n = group.Size;
        using var running = LseAccumulator.Empty(b, hq, layout.LocalLength, d, q.device);
        var kv = stack([k, v]);   // [2, B, Hkv, 2c, D]: one contiguous buffer per hop
        var spare = n > 1 ? empty_like(kv) : null;
        for (int step = 0; step < n; step++)
        {
            // Post the next hop before computing on this one; the two buffers alternate.
            using var hop = step + 1 < n ? group.BatchSendRecvAsync([P2POp.Send(kv, Next), P2POp.Recv(spare!, Previous)]) : null;
            BlockAttention.Forward(q, kv[0], kv[1], ZigzagBlocks.RingStep(layout, group.Rank, SourceAt(step), b, call.Causal, call.Documents),
                running, call.Scale, kernel);
            if (hop is null) continue;
            hop.Wait();
            (kv, spare) = (spare!, kv);
        }
        var result = running.Result(q.dtype);
        return new AttentionResult(result.Output.MoveToOuterDisposeScope(), result.Lse.MoveToOuterDisposeScope());
    }

    public (Tensor dq, Tensor dk, Tensor dv) Backward(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        ContextParallelCall call)
    {
        var layout = call.Layout;
        var (b, _, _, _) = layout.CheckShard(q, k, v, group.Size, "ring");
        using var scope = NewDisposeScope();
        int n = group.Size;
        var dq = zeros(q.shape, dtype: ScalarType.Float32, device: q.device);
        var kv = stack([k, v]);
        var spare = n > 1 ? empty_like(kv) : null;
        // dK/dV of the K/V this rank holds: this step's contributions, the sum that travels, and the buffer receiving the next.
        var grad = zeros(kv.shape, dtype: ScalarType.Float32, device: q.device);
        var held = zeros_like(grad);
        var incoming = zeros_like(grad);
        IWork? gradHop = null;
        try
        {
            for (int step = 0; step < n; step++)
            {
                using var hop = step + 1 < n ? group.BatchSendRecvAsync([P2POp.Send(kv, Next), P2POp.Recv(spare!, Previous)]) : null;
                grad.zero_();
                BlockAttention.Backward(gradOut, q, kv[0], kv[1], output, lse,
                    ZigzagBlocks.RingStep(layout, group.Rank, SourceAt(step), b, call.Causal, call.Documents), dq, grad[0], grad[1], call.Scale, kernel);
                if (step == 0) (held, grad) = (grad, held);   // our own K/V's sum starts as this step's part
                else
                {
                    // The sum for this K/V arrived from the previous rank while we computed.
                    gradHop!.Wait();
                    gradHop.Dispose();
                    gradHop = null;
                    (held, incoming) = (incoming, held);
                    held.add_(grad);
                }
                if (hop is not null)
                {
                    hop.Wait();
                    (kv, spare) = (spare!, kv);
                }
                // Pass the sum on; after the last step it goes to the K/V's owner, and ours arrives.
                if (n > 1) gradHop = group.BatchSendRecvAsync([P2POp.Send(held, Next), P2POp.Recv(incoming, Previous)]);
            }
            if (gradHop is not null) gradHop.Wait();
        }
        finally
        {
            gradHop?.Dispose();
        }
        var home = n > 1 ? incoming : held;
        return (dq.to(q.dtype).MoveToOuterDisposeScope(), home[0].to(k.dtype).MoveToOuterDisposeScope(),
            home[1].to(v.dtype).MoveToOuterDisposeScope());
    }
}
