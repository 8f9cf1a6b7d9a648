using System.Diagnostics;
using TorchSharp;
using LongContext.Core.Attention;
using LongContext.Core.Native;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// One world size's compute efficiency: the per-step block work of every simulated rank (the same
/// <see cref="BlockAttention"/> calls a multi-GPU run makes, fp32 merges and gradient accumulation included) timed on
/// one device, against one fused call over the same tokens.
/// </summary>
/// <param name="SingleMs">One fused attention call over the whole sequence.</param>
/// <param name="RingSumMs">Σ over ranks and steps of the ring's per-step time: the ring's total compute.</param>
/// <param name="RingStepMaxMs">Σ over steps of the slowest rank's step time: a rank's compute when the steps run in lockstep.</param>
/// <param name="AllGatherSumMs">Σ over ranks of the all-gather variant's compute (against the gathered K/V).</param>
public sealed record RingKernelMeasurement(int WorldSize, long SequenceLength, string Pass, double SingleMs, double RingSumMs,
    double RingStepMaxMs, double AllGatherSumMs, string Kernel)
{
    /// <summary>SingleMs / RingSumMs: 1 when splitting into blocks and merging costs nothing.</summary>
    public double RingRatio => SingleMs / RingSumMs;
    /// <summary>SingleMs / (N · RingStepMaxMs): also charges the imbalance between ranks at each step.</summary>
    public double RingLockstepRatio => SingleMs / (WorldSize * RingStepMaxMs);
    public double AllGatherRatio => SingleMs / AllGatherSumMs;
}

/// <summary>
/// The compute part of ring efficiency on one GPU (issue 13): for each world size N, the N ranks are simulated
/// one after another on this device with the kernels each would run, communication left out (it is measured on
/// several GPUs). Forward and backward are reported separately; each time is the median of <c>runs</c>.
/// </summary>
public static class RingKernelBenchmark
{
    public sealed record Shape(long SequenceLength, int QueryHeads = 32, int KvHeads = 8, int HeadDim = 128, long Batch = 1);

    public static IEnumerable<RingKernelMeasurement> Run(Device device, ScalarType dtype, Shape shape, IReadOnlyList<int> worldSizes,
        int runs = 3, DocumentSegments? documents = null)
    {
        // Model-like memory: [B, L, H, D] viewed as [B, H, L, D].
        Tensor Draw(long heads) => randn([shape.Batch, shape.SequenceLength, heads, shape.HeadDim], dtype: dtype, device: device).transpose(1, 2)
            .DetachFromDisposeScope();
        var (q, k, v, dout) = (Draw(shape.QueryHeads), Draw(shape.KvHeads), Draw(shape.KvHeads), Draw(shape.QueryHeads));
        try
        {
            var whole = FusedAttention.Forward(q, k, v, causal: true);
            string kernel = FusedAttention.UsesNative(q) ? FusedAttention.LastKernel : "math";
            double singleForward = Median(runs, device, () => FusedAttention.Forward(q, k, v, causal: true));
            double singleBackward = Median(runs, device, () => FusedAttention.Backward(dout, q, k, v, whole.Output, whole.Lse, causal: true));
            whole.Output.Dispose();
            whole.Lse.Dispose();
            foreach (int n in worldSizes)
            {
                var (forward, backward) = Measure(new ZigzagLayout(n, shape.SequenceLength), q, k, v, dout, documents, runs, device);
                yield return new RingKernelMeasurement(n, shape.SequenceLength, "forward", singleForward, forward.RingSum, forward.RingStepMax, forward.AllGatherSum, kernel);
                yield return new RingKernelMeasurement(n, shape.SequenceLength, "backward", singleBackward, backward.RingSum, backward.RingStepMax, backward.AllGatherSum, kernel);
            }
        }
        finally
        {
            foreach (var t in new[] { q, k, v, dout }) t.Dispose();
        }
    }

    readonly record struct Times(double RingSum, double RingStepMax, double AllGatherSum);

    static (Times Forward, Times Backward) Measure(ZigzagLayout layout, Tensor q, Tensor k, Tensor v, Tensor dout,
        DocumentSegments? documents, int runs, Device device)
    {
        using var scope = NewDisposeScope();
        int n = layout.WorldSize;
        long b = q.shape[0];
        Tensor[] Shards(Tensor x) => [.. Enumerable.Range(0, n).Select(r => layout.Shard(x, r, dim: 2))];
        var (qs, ks, vs, dos) = (Shards(q), Shards(k), Shards(v), Shards(dout));
        var fwd = new double[n, n];
        var bwd = new double[n, n];
        var results = new AttentionResult[n];
        for (int r = 0; r < n; r++)
        {
            // The rank's final output and LSE (the backward's inputs), then each step timed on its own.
            using var all = LseAccumulator.Empty(b, q.shape[1], layout.LocalLength, q.shape[3], device);
            for (int s = 0; s < n; s++) BlockAttention.Forward(qs[r], ks[Source(r, s, n)], vs[Source(r, s, n)], Blocks(layout, r, s, b, documents), all, null);
            results[r] = all.Result(q.dtype);
            for (int s = 0; s < n; s++)
            {
                int j = Source(r, s, n);
                var blocks = Blocks(layout, r, s, b, documents);
                // The accumulators exist once per call in a real ring: allocated outside the timed region.
                using var into = LseAccumulator.Empty(b, q.shape[1], layout.LocalLength, q.shape[3], device);
                fwd[r, s] = Median(runs, device, () => BlockAttention.Forward(qs[r], ks[j], vs[j], blocks, into, null));
                var dq = zeros(qs[r].shape, dtype: ScalarType.Float32, device: device);
                var dkv = zeros([2, .. ks[j].shape], dtype: ScalarType.Float32, device: device);
                bwd[r, s] = Median(runs, device, () =>
                    BlockAttention.Backward(dos[r], qs[r], ks[j], vs[j], results[r].Output, results[r].Lse, blocks, dq, dkv[0], dkv[1], null));
            }
        }
        double gatherForward = 0, gatherBackward = 0;
        var dqAll = zeros(qs[0].shape, dtype: ScalarType.Float32, device: device);
        var dkvAll = zeros([2, .. k.shape], dtype: ScalarType.Float32, device: device);
        for (int r = 0; r < n; r++)
        {
            var blocks = ZigzagBlocks.AllGather(layout, r, b, causal: true, documents);
            using var into = LseAccumulator.Empty(b, q.shape[1], layout.LocalLength, q.shape[3], device);
            gatherForward += Median(runs, device, () => BlockAttention.Forward(qs[r], k, v, blocks, into, null));
            gatherBackward += Median(runs, device, () =>
                BlockAttention.Backward(dos[r], qs[r], k, v, results[r].Output, results[r].Lse, blocks, dqAll, dkvAll[0], dkvAll[1], null));
        }
        return (Summarise(fwd, gatherForward), Summarise(bwd, gatherBackward));
    }

    static int Source(int rank, int step, int n) => (rank - step + n) % n;

    static IReadOnlyList<AttentionBlock> Blocks(ZigzagLayout layout, int rank, int step, long batch, DocumentSegments? documents) =>
        ZigzagBlocks.RingStep(layout, rank, Source(rank, step, layout.WorldSize), batch, causal: true, documents);

    static Times Summarise(double[,] t, double gatherSum)
    {
        int n = t.GetLength(0);
        double sum = 0, lockstep = 0;
        for (int s = 0; s < n; s++)
        {
            double max = 0;
            for (int r = 0; r < n; r++) { sum += t[r, s]; max = Math.Max(max, t[r, s]); }
            lockstep += max;
        }
        return new Times(sum, lockstep, gatherSum);
    }

    /// <summary>Median milliseconds of <paramref name="runs"/> timed calls after one warm-up call (CUDA events on a GPU).</summary>
    static double Median(int runs, Device device, Action body)
    {
        Once(body);
        var times = new double[Math.Max(1, runs)];
        for (int i = 0; i < times.Length; i++)
        {
            if (device.type != DeviceType.CUDA)
            {
                long t0 = Stopwatch.GetTimestamp();
                Once(body);
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                continue;
            }
            using var start = new CudaEvent(device: device);
            using var end = new CudaEvent(device: device);
            start.Record();
            Once(body);
            end.Record();
            times[i] = start.ElapsedMs(end);
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    static void Once(Action body)
    {
        using var scope = NewDisposeScope();
        body();
    }
}
