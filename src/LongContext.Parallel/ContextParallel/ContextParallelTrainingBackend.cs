using LongContext.Core.Attention;
using LongContext.Parallel.Distributed;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// The attention backend of a context-parallel training run. For each attention shape it meets (batch, global length,
/// heads, head size, dtype, packed documents or not) it decides the variant once with
/// <see cref="ContextParallelChoice.Choose"/> (what <c>--cp-attention</c> asks, or auto by the cost model) and runs it
/// through a <see cref="ContextParallelAttentionBackend"/> over the cp group. Deciding from the shape, not up front, lets
/// one backend serve every stage of a progressive extension; every rank of the group meets the same shapes, so all
/// choose alike. Each decision is reported once through <paramref name="log"/> and kept in <see cref="Decisions"/>.
/// </summary>
public sealed class ContextParallelTrainingBackend(IProcessGroup group, ContextParallelOptions? options = null, Action<string>? log = null) : IAttentionBackend
{
    readonly ContextParallelOptions _options = options ?? new ContextParallelOptions();
    readonly Dictionary<(ContextParallelShape Shape, bool Documents), (ContextParallelDecision Decision, ContextParallelAttentionBackend Backend)> _chosen = [];
    readonly Lock _lock = new();

    public string Name => $"cp{group.Size}-{_options.Attention.ToString().ToLowerInvariant()}";

    /// <summary>The decisions so far, one per attention shape, in the order they were made.</summary>
    public IReadOnlyList<ContextParallelDecision> Decisions
    {
        get { lock (_lock) return [.. _chosen.Values.Select(c => c.Decision)]; }
    }

    public Tensor Attend(Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale) =>
        For(q, k, mask.Shard?.GlobalLength ?? q.shape[2] * group.Size, mask.Documents is not null).Attend(q, k, v, mask, scale);

    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale) =>
        For(q, k, q.shape[2] * group.Size, documents: false).Attend(q, k, v, causal, scale);

    public Tensor AttendSlidingWindow(Tensor q, Tensor k, Tensor v, int window, double scale) =>
        For(q, k, q.shape[2] * group.Size, documents: false).AttendSlidingWindow(q, k, v, window, scale);

    ContextParallelAttentionBackend For(Tensor q, Tensor k, long globalLength, bool documents)
    {
        var shape = new ContextParallelShape(group.Size, q.shape[0], globalLength, (int)q.shape[1], (int)k.shape[1], (int)q.shape[3], (int)q.element_size());
        lock (_lock)
        {
            if (_chosen.TryGetValue((shape, documents), out var known)) return known.Backend;
            var decision = ContextParallelChoice.Choose(_options.Attention, shape, documents, _options.Hardware);
            var backend = new ContextParallelAttentionBackend(ContextParallelChoice.Create(decision, group));
            _chosen[(shape, documents)] = (decision, backend);
            log?.Invoke(Describe(decision, shape, documents, FusedAttention.UsesNative(q)));
            return backend;
        }
    }

    static string Describe(ContextParallelDecision d, ContextParallelShape s, bool documents, bool native) =>
        $"context parallel: {d.Variant.ToString().ToLowerInvariant()} attention over cp = {s.WorldSize} for {s.Batch} × {s.SequenceLength} tokens"
        + $"{(documents ? " (packed documents)" : "")}, {s.QueryHeads}/{s.KvHeads} heads: {d.Reason}; "
        + (native ? "fused kernels (add-on)" : "math kernels (fp32; the fused ones need CUDA, bf16/fp16 and the add-on)");
}
