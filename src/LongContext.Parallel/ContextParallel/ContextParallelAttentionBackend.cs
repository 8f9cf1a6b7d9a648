using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Context-parallel attention behind the model's <see cref="IAttentionBackend"/> seam: the model is unchanged and
/// hands over this rank's shard (inputs sharded with <see cref="ZigzagLayout.Shard"/>, positions the global ones),
/// and the backend attends over the whole sequence with the other ranks. Make one per batch: its
/// <see cref="IContextParallelAttention"/> carries that batch's layout and document boundaries.
/// <para>
/// Ring prefill for inference plugs in here as well: a prompt longer than one GPU holds is sharded over the group
/// like a training batch, this backend serves the prefill forward (no KV cache: L = S = the shard), and each rank
/// keeps its shard's K/V; decoding then needs attention over K/V spread across ranks (a decode backend that gathers
/// the per-rank partial results with <see cref="RunningAttention"/>), which is not built yet.
/// </para>
/// </summary>
public sealed class ContextParallelAttentionBackend(IContextParallelAttention attention) : IAttentionBackend
{
    public string Name => "cp-" + attention.Name;
    public IContextParallelAttention Attention => attention;

    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale) =>
        q.requires_grad || k.requires_grad || v.requires_grad
            ? ContextParallelAttentionFunction.Apply(attention, q, k, v, causal, scale)
            : Forward(q, k, v, causal, scale);

    Tensor Forward(Tensor q, Tensor k, Tensor v, bool causal, double scale)
    {
        var r = attention.Forward(q, k, v, causal, scale);
        r.Lse.Dispose();
        return r.Output;
    }

    public Tensor AttendSlidingWindow(Tensor q, Tensor k, Tensor v, int window, double scale) =>
        throw new ContextParallelException(
            $"sliding-window attention (window {window}) is not supported under context parallelism: run this model with cp = 1, "
            + "or without its sliding window.");
}
