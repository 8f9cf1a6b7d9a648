using LongContext.Core.Attention;
using LongContext.Parallel.Distributed;

namespace LongContext.Parallel.ContextParallel;

/// <summary>Which context-parallel attention a run uses (<c>--cp-attention ring|allgather|auto</c>).</summary>
public enum ContextParallelVariant { Auto, Ring, AllGather }

/// <summary>The attention shape one layer hands to context-parallel attention (global sequence, all ranks).</summary>
public sealed record ContextParallelShape(int WorldSize, long Batch, long SequenceLength, int QueryHeads, int KvHeads, int HeadDim,
    int ElementBytes = 2);

/// <summary>
/// What the cost model assumes about the machine: the one-direction bandwidth between neighbouring ranks, the attention
/// kernels' speed, and how many bytes the all-gather variant may add per layer for the gathered K/V (and, in the backward,
/// their fp32 gradients). Defaults: NVLink 4 (H100/H200, ~450 GB/s per direction, ~350 effective), cuDNN attention at
/// ~560 TFLOP/s forward+backward (design.md §2), 8 GiB.
/// </summary>
public sealed record ContextParallelHardware(double LinkBytesPerSecond = 350e9, double AttentionFlopsPerSecond = 560e12,
    long GatherBudgetBytes = 8L << 30);

/// <summary>Modelled seconds and extra memory of one layer's attention forward + backward on one rank.</summary>
public sealed record ContextParallelCost(double ComputeSeconds, double CommunicationSeconds, double ExposedCommunicationSeconds,
    long ExtraBytes)
{
    public double TotalSeconds => ComputeSeconds + ExposedCommunicationSeconds;
}

/// <summary>The variant a run uses, why, and what the model said about both.</summary>
public sealed record ContextParallelDecision(ContextParallelVariant Variant, int KvHeadsPerGather, string Reason,
    ContextParallelCost Ring, ContextParallelCost? AllGather);

/// <summary>
/// Chooses between zigzag ring attention and the all-gather variant by a modelled cost, and builds the chosen one.
/// <list type="bullet">
/// <item>Ring: N steps; each hop's K/V (bf16, KV-head sized) travels while the step computes, so only what a step's
/// transfer takes beyond its compute is exposed. The backward moves K/V and fp32 dK/dV; dK/dV's last hop home is exposed.
/// Extra memory: two K/V buffers and three fp32 dK/dV buffers of the local shard.</item>
/// <item>All-gather: the gathered K/V arrive before the compute that needs them (exposed, as is the backward's re-gather and
/// the fp32 reduce-scatter of dK/dV, except what a next group of KV heads overlaps). Extra memory: the whole sequence's
/// K/V and their fp32 gradients for one group of KV heads; the group is made small enough to fit the budget.</item>
/// </list>
/// Auto: packed documents → all-gather when it fits (each query's visible keys in one pass; under a ring, ranks whose
/// current K/V shares no document with their queries idle through the step); otherwise the lower modelled time, the ring
/// on a tie or when the gather does not fit.
/// </summary>
public static class ContextParallelChoice
{
    public static ContextParallelVariant Parse(string value) => value.Trim().ToLowerInvariant() switch
    {
        "auto" => ContextParallelVariant.Auto,
        "ring" => ContextParallelVariant.Ring,
        "allgather" or "all-gather" => ContextParallelVariant.AllGather,
        _ => throw new ContextParallelException($"--cp-attention '{value}': expected ring, allgather or auto."),
    };

    /// <summary>
    /// The variant for a run: <paramref name="documentMask"/> says whether its batches carry packed-document masks
    /// (the run's option; the segments themselves change per batch, so the compute is modelled as plain causal, an
    /// upper bound).
    /// </summary>
    public static ContextParallelDecision Choose(ContextParallelVariant requested, ContextParallelShape shape, bool documentMask = false,
        ContextParallelHardware? hardware = null)
    {
        var hw = hardware ?? new ContextParallelHardware();
                double pairs = shape.Batch * shape.SequenceLength * (shape.SequenceLength + 1) / 2.0;   // causal query-key pairs
        var ring = RingCost(shape, pairs, hw);
        int heads = HeadsPerGather(shape, hw);
        var gather = heads > 0 ? AllGatherCost(shape, pairs, heads, hw) : null;
        string fits = gather is null
            ? $"the gathered K/V of one KV head ({Gib(GatherBytes(shape, 1))} with fp32 gradients) exceed the {Gib(hw.GatherBudgetBytes)} budget"
            : $"gathered K/V {Gib(gather.ExtraBytes)} per layer{(heads < shape.KvHeads ? $" in groups of {heads} KV heads" : "")}";
        switch (requested)
        {
            case ContextParallelVariant.Ring:
                return new(ContextParallelVariant.Ring, 0, "requested", ring, gather);
            case ContextParallelVariant.AllGather:
                if (gather is null)
                    throw new ContextParallelException($"--cp-attention allgather: {fits}; use --cp-attention ring, or more context-parallel ranks.");
                return new(ContextParallelVariant.AllGather, heads, $"requested ({fits})", ring, gather);
        }
        if (shape.WorldSize == 1) return new(ContextParallelVariant.Ring, 0, "cp = 1: no communication", ring, gather);
        if (gather is null) return new(ContextParallelVariant.Ring, 0, $"auto: ring, since {fits}", ring, null);
        if (documentMask) return new(ContextParallelVariant.AllGather, heads, $"auto: packed documents → all-gather ({fits})", ring, gather);
        string times = $"modelled {Ms(ring.TotalSeconds)} ring vs {Ms(gather.TotalSeconds)} all-gather per layer";
        return gather.TotalSeconds < ring.TotalSeconds
            ? new(ContextParallelVariant.AllGather, heads, $"auto: all-gather ({times}; {fits})", ring, gather)
            : new(ContextParallelVariant.Ring, 0, $"auto: ring ({times})", ring, gather);
    }

    /// <summary>The chosen variant for this rank of <paramref name="group"/> (the context-parallel group).</summary>
    public static IContextParallelAttention Create(ContextParallelDecision decision, IProcessGroup group, AttentionKernel kernel = AttentionKernel.Auto) =>
        decision.Variant switch
    {
        ContextParallelVariant.AllGather => new AllGatherAttention(group, decision.KvHeadsPerGather, kernel),
        ContextParallelVariant.Ring => new RingAttention(group, kernel),
        _ => throw new ArgumentException("decide first: Auto is not a variant to build", nameof(decision)),
    };

    // Forward 4·pairs·D·Hq FLOP, backward 2.5× that (long-context-recipes.md §6.2), split over the ranks.
    static double ComputeSeconds(ContextParallelShape s, double pairs, ContextParallelHardware hw) =>
        3.5 * 4 * pairs * s.HeadDim * s.QueryHeads / s.WorldSize / hw.AttentionFlopsPerSecond;

    static double LocalKvBytes(ContextParallelShape s, int bytes) => 2.0 * s.Batch * s.KvHeads * (s.SequenceLength / s.WorldSize) * s.HeadDim * bytes;

    static ContextParallelCost RingCost(ContextParallelShape s, double pairs, ContextParallelHardware hw)
    {
        int n = s.WorldSize;
        double compute = ComputeSeconds(s, pairs, hw);
        if (n == 1) return new(compute, 0, 0, 0);
        double kv = LocalKvBytes(s, s.ElementBytes) / hw.LinkBytesPerSecond, dkv = LocalKvBytes(s, 4) / hw.LinkBytesPerSecond;
        double forwardStep = compute / 3.5 / n, backwardStep = compute * 2.5 / 3.5 / n;
        double exposed = (n - 1) * Math.Max(0, kv - forwardStep) + (n - 1) * Math.Max(0, kv + dkv - backwardStep) + dkv;
        long extra = (long)(2 * LocalKvBytes(s, s.ElementBytes) + 3 * LocalKvBytes(s, 4));
        return new(compute, (n - 1) * (2 * kv + dkv) + dkv, exposed, extra);
    }

    static ContextParallelCost AllGatherCost(ContextParallelShape s, double pairs, int heads, ContextParallelHardware hw)
    {
        int n = s.WorldSize, groups = (s.KvHeads + heads - 1) / heads;
        double compute = ComputeSeconds(s, pairs, hw);
        // A ring all-gather (or reduce-scatter) moves N−1 local shards through each link.
        double gather = (n - 1) * LocalKvBytes(s, s.ElementBytes) / hw.LinkBytesPerSecond;
        double scatter = (n - 1) * LocalKvBytes(s, 4) / hw.LinkBytesPerSecond;
        double comm = 2 * gather + scatter;
        // With several head groups, one group's transfer overlaps the previous group's compute.
        double perGroupCompute = compute / groups, perGroupComm = comm / groups;
        double exposed = groups == 1 ? comm : perGroupComm + (groups - 1) * Math.Max(0, perGroupComm - perGroupCompute);
        return new(compute, comm, exposed, GatherBytes(s, heads));
    }

    // Gathered K/V twice (as received and in position order) plus their fp32 gradients twice (by position and by rank).
    static long GatherBytes(ContextParallelShape s, int heads) =>
        2L * s.Batch * heads * s.SequenceLength * s.HeadDim * (2L * s.ElementBytes + 2L * 4);

    static int HeadsPerGather(ContextParallelShape s, ContextParallelHardware hw)
    {
        for (int heads = s.KvHeads; heads >= 1; heads--)
            if (s.KvHeads % heads == 0 && GatherBytes(s, heads) <= hw.GatherBudgetBytes) return heads;
        return 0;
    }

    static string Gib(double bytes) => $"{bytes / (1L << 30):0.##} GiB";
    static string Ms(double seconds) => $"{seconds * 1e3:0.###} ms";
}
