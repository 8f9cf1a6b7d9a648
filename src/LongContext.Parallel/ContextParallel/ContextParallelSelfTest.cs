using LongContext.Core.Attention;
using LongContext.Core.Diagnostics;
using LongContext.Parallel.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// `longctx selftest ring`: output, LSE and dq/dk/dv of both context-parallel variants against single-device fused
/// attention on the same inputs, for each world size, with and without packed documents, GQA 4:1 and 8:1, in bf16
/// (tolerance 2e-2) and fp32 (1e-5), plus the rejection of a length the layout cannot split. The N ranks run as
/// threads of this process sharing one device (<see cref="ThreadProcessGroup"/>), each through the real
/// <see cref="RingAttention"/>/<see cref="AllGatherAttention"/> code with the per-block kernels a multi-GPU run uses.
/// </summary>
public static class ContextParallelSelfTest
{
    public const double Fp32Tolerance = 1e-5;
    public const double Bf16Tolerance = 2e-2;

    /// <summary>The checks, computed one at a time as the caller enumerates them (so progress can be shown).</summary>
    public static IEnumerable<SelfTestCheck> Run(Device device, IReadOnlyList<int> worldSizes)
    {
        bool cuda = device.type == DeviceType.CUDA;
        var dtypes = cuda ? new[] { ScalarType.BFloat16, ScalarType.Float32 } : new[] { ScalarType.Float32, ScalarType.BFloat16 };
        // Chunks of 64 tokens and head dim 64 on a GPU; tiny on a CPU (bf16 math there is slow).
        long chunk = cuda ? 64 : 4, headDim = cuda ? 64 : 16;
        foreach (int n in worldSizes)
        {
            yield return LengthCheck(n, chunk);
            foreach (var dtype in dtypes)
            foreach (var (hq, hkv) in new[] { (8, 2), (8, 1) })
            foreach (bool documents in new[] { false, true })
            {
                var layout = new ZigzagLayout(n, 2 * n * chunk);
                var docs = documents ? Documents(layout) : null;
                var inputs = Inputs(layout.SequenceLength, hq, hkv, headDim, dtype, device);
                var reference = SingleDevice(inputs, docs);
                foreach (var variant in new[] { ContextParallelVariant.Ring, ContextParallelVariant.AllGather })
                {
                    string name = $"ring.{Tag(variant)}[N={n},{hq}:{hkv},{(documents ? "docs" : "causal")},{Tag(dtype)}]";
                    yield return Guard(name, () => Compare(name, variant, layout, docs, inputs, reference, dtype, device));
                }
                reference.Dispose();
                inputs.Dispose();
            }
        }
    }

    static SelfTestCheck LengthCheck(int n, long chunk)
    {
        long bad = 2 * n * chunk + n;
        try
        {
            _ = new ZigzagLayout(n, bad);
            return new SelfTestCheck($"ring.length[N={n}]", false, null, null, $"length {bad} was accepted");
        }
        catch (ContextParallelException e)
        {
            return new SelfTestCheck($"ring.length[N={n}]", e.Message.Contains("not divisible by 2·cp"), null, null, e.Message);
        }
    }

    static SelfTestCheck Guard(string name, Func<SelfTestCheck> run)
    {
        try { return run(); }
        catch (Exception e) { return new SelfTestCheck(name, false, null, null, e.GetType().Name + ": " + e.Message); }
    }

    static string Tag(ContextParallelVariant v) => v == ContextParallelVariant.Ring ? "ring" : "allgather";
    static string Tag(ScalarType t) => t == ScalarType.BFloat16 ? "bf16" : "fp32";

    // Row 0: a one-token document, boundaries inside a chunk and on a chunk edge, a document across several ranks;
    // row 1: two halves.
    static DocumentSegments Documents(ZigzagLayout layout)
    {
        long l = layout.SequenceLength, c = layout.ChunkLength;
        int[] Starts(params long[] at) => [.. at.Where(p => p < l).Distinct().Order().Select(p => (int)p)];
        return new([Starts(0, 1, c / 2, 2 * c, 2 * c + 3, l - 2), Starts(0, l / 2)], (int)l);
    }

    sealed record Tensors(Tensor Q, Tensor K, Tensor V, Tensor GradOut) : IDisposable
    {
        public Tensor[] All => [Q, K, V, GradOut];
        public void Dispose() { foreach (var t in All) t.Dispose(); }
    }

    sealed record Results(Tensor Output, Tensor Lse, Tensor Dq, Tensor Dk, Tensor Dv) : IDisposable
    {
        public Tensor[] All => [Output, Lse, Dq, Dk, Dv];
        public void Dispose() { foreach (var t in All) t.Dispose(); }
    }

    static Tensors Inputs(long length, long hq, long hkv, long d, ScalarType dtype, Device device)
    {
        // Drawn on the CPU with a fixed seed (the same inputs on every machine), then moved.
        var gen = new Generator(4321);
        Tensor Draw(long h) => randn([2, h, length, d], generator: gen).to(dtype).to(device).DetachFromDisposeScope();
        return new Tensors(Draw(hq), Draw(hkv), Draw(hkv), Draw(hq));
    }

    /// <summary>Single-device fused attention on the whole sequence; with documents, block-diagonal (each document on its own).</summary>
    static Results SingleDevice(Tensors x, DocumentSegments? docs)
    {
        using var scope = NewDisposeScope();
        var r = docs is null ? FusedAttention.Forward(x.Q, x.K, x.V, causal: true) : DocumentAttention.Forward(x.Q, x.K, x.V, docs);
        var (dq, dk, dv) = docs is null
            ? FusedAttention.Backward(x.GradOut, x.Q, x.K, x.V, r.Output, r.Lse, causal: true)
            : DocumentAttention.Backward(x.GradOut, x.Q, x.K, x.V, r.Output, r.Lse, docs);
        return Keep(new Results(r.Output, r.Lse, dq, dk, dv));
    }

    static Results Keep(Results r)
    {
        foreach (var t in r.All) t.DetachFromDisposeScope();
        return r;
    }

    static SelfTestCheck Compare(string name, ContextParallelVariant variant, ZigzagLayout layout, DocumentSegments? docs, Tensors x, Results expected,
        ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var ranks = ThreadProcessGroup.Run(layout.WorldSize, g =>
        {
            IContextParallelAttention attention = variant == ContextParallelVariant.Ring ? new RingAttention(g) : new AllGatherAttention(g);
            var call = new ContextParallelCall(layout, docs);
            Tensor Mine(Tensor t) => layout.Shard(t, g.Rank, dim: 2);
            var (q, k, v, dout) = (Mine(x.Q), Mine(x.K), Mine(x.V), Mine(x.GradOut));
            var r = attention.Forward(q, k, v, call);
            var (dq, dk, dv) = attention.Backward(dout, q, k, v, r.Output, r.Lse, call);
            return new[] { r.Output, r.Lse, dq, dk, dv };
        }, device: device);
        var names = new[] { "out", "lse", "dq", "dk", "dv" };
        var errors = new double[5];
        for (int i = 0; i < 5; i++)
            errors[i] = RelErr(layout.Unshard([.. ranks.Select(r => r[i])], dim: 2), expected.All[i]);
        double tolerance = dtype == ScalarType.BFloat16 ? Bf16Tolerance : Fp32Tolerance;
        string kernel = FusedAttention.UsesNative(x.Q) ? FusedAttention.LastKernel : "math";
        string detail = string.Join(" ", names.Select((name, i) => $"{name} {errors[i]:E1}")) + $"; kernel {kernel}";
        return new SelfTestCheck(name, errors.Max() <= tolerance, errors.Max(), tolerance, detail);
    }

    static double RelErr(Tensor got, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64).cpu();
        return (got.to(ScalarType.Float64).cpu() - e).norm().item<double>() / Math.Max(e.norm().item<double>(), 1e-30);
    }
}
