using LongContext.Core.Attention;
using LongContext.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Diagnostics;

/// <summary>
/// Numerical checks that run on the user's machine (`longctx selftest`). On CUDA they compare the add-on's fused
/// kernels (bf16) with the fp32 math fallback on the same inputs; on CPU they check the fallback against plain
/// softmax attention. New engine checks register here as they land.
/// </summary>
public static class SelfTest
{
    public const double Bf16Tolerance = 2e-2;
    public const double Fp32Tolerance = 1e-4;

    public static IReadOnlyList<SelfTestCheck> Run(Device device, IList<Func<Device, IEnumerable<SelfTestCheck>>>? extra = null)
    {
        var checks = new List<SelfTestCheck>();
        checks.AddRange(Guard("attention", () => AttentionChecks(device)));
        if (device.type == DeviceType.CUDA) checks.AddRange(Guard("cuda-runtime", () => CudaRuntimeChecks(device)));
        foreach (var more in extra ?? []) checks.AddRange(Guard("extra", () => more(device)));
        return checks;
    }

    static IEnumerable<SelfTestCheck> Guard(string group, Func<IEnumerable<SelfTestCheck>> run)
    {
        try { return run().ToList(); }
        catch (Exception e) { return [new SelfTestCheck(group, false, null, null, e.GetType().Name + ": " + e.Message)]; }
    }

    static double RelErr(Tensor got, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64).cpu();
        return (got.to(ScalarType.Float64).cpu() - e).norm().item<double>() / Math.Max(e.norm().item<double>(), 1e-30);
    }

    /// <summary>(name, Hq, Hkv, L, S, causal): causal, GQA, non-causal, chunked prefill and a decode step.</summary>
    static readonly (string name, int hq, int hkv, int l, int s, bool causal)[] Shapes =
    [
        ("causal", 8, 8, 256, 256, true),
        ("causal-gqa", 8, 2, 256, 256, true),
        ("noncausal-gqa", 8, 2, 128, 320, false),
        ("chunk-causal-gqa", 8, 2, 64, 320, true),
        ("decode-gqa", 8, 2, 1, 300, false),
    ];

    static IEnumerable<SelfTestCheck> AttentionChecks(Device device)
    {
        bool cuda = device.type == DeviceType.CUDA;
        var dtypes = cuda ? new[] { ScalarType.BFloat16, ScalarType.Float32 } : new[] { ScalarType.Float32 };
        foreach (var dtype in dtypes)
        foreach (var (name, hq, hkv, l, s, causal) in Shapes)
        {
            using var scope = NewDisposeScope();
            // Drawn on the CPU with a fixed seed (same inputs on every machine), then moved.
            var gen = new Generator(1234);
            Tensor Draw(long h, long n) => randn(new long[] { 1, h, n, 64 }, generator: gen).to(dtype).to(device);
            var (q, k, v, dout) = (Draw(hq, l), Draw(hkv, s), Draw(hkv, s), Draw(hq, l));
            string tag = $"{name}/{(dtype == ScalarType.BFloat16 ? "bf16" : "fp32")}";
            double tol = dtype == ScalarType.BFloat16 ? Bf16Tolerance : Fp32Tolerance;

            // Reference: the fp32 fallback on the same (already rounded) inputs, on the CPU in float64 for fp32 runs.
            var refDtype = dtype == ScalarType.Float32 ? ScalarType.Float64 : ScalarType.Float32;
            var (qr, kr, vr, dr) = (q.to(refDtype).cpu(), k.to(refDtype).cpu(), v.to(refDtype).cpu(), dout.to(refDtype).cpu());
            var reference = MathAttention.Forward(qr, kr, vr, causal);
            var refGrads = MathAttention.Backward(dr, qr, kr, vr, reference.Output, reference.Lse, causal);

            var got = FusedAttention.Forward(q, k, v, causal);
            string kernel = FusedAttention.UsesNative(q) ? FusedAttention.LastKernel : "math";
            var grads = FusedAttention.Backward(dout, q, k, v, got.Output, got.Lse, causal);

            yield return Check($"attention.forward[{tag}]", RelErr(got.Output, reference.Output), tol, $"kernel {kernel}");
            yield return Check($"attention.lse[{tag}]", RelErr(got.Lse, reference.Lse), tol, $"kernel {kernel}");
            double gradErr = new[] { RelErr(grads.dq, refGrads.dq), RelErr(grads.dk, refGrads.dk), RelErr(grads.dv, refGrads.dv) }.Max();
            yield return Check($"attention.backward[{tag}]", gradErr, tol, $"max of dq/dk/dv, kernel {kernel}");
        }
    }

    static IEnumerable<SelfTestCheck> CudaRuntimeChecks(Device device)
    {
        if (!NativeAddon.IsAvailable)
        {
            yield return new SelfTestCheck("native-addon", false, null, null, NativeAddon.Status);
            yield break;
        }
        int index = device.index < 0 ? 0 : device.index;
        CudaMemory.ResetPeak(index);
        using (var stream = CudaStream.Create(index))
        using (var start = new CudaEvent())
        using (var end = new CudaEvent())
        {
            using var scope = NewDisposeScope();
            var a = randn(new long[] { 2048, 2048 }, device: device, dtype: ScalarType.BFloat16);
            Tensor c;
            using (stream.MakeCurrent())
            {
                start.Record(stream);
                c = matmul(a, a);
                for (int i = 0; i < 4; i++) c = matmul(c, a) / 64;
                end.Record(stream);
            }
            stream.Synchronize();
            double ms = start.ElapsedMs(end);
            var expected = matmul(a, a);
            for (int i = 0; i < 4; i++) expected = matmul(expected, a) / 64;
            double err = RelErr(c, expected);
            yield return new SelfTestCheck("cuda.stream+events", ms > 0 && err < 1e-2, err, 1e-2, $"5 matmuls on a side stream took {ms:F3} ms");
        }
        var stats = CudaMemory.Stats(index)!;
        yield return new SelfTestCheck("cuda.memory-stats", stats.PeakAllocated > 0 && stats.Reserved >= stats.Allocated, null, null,
            $"allocated {stats.Allocated >> 20} MiB, reserved {stats.Reserved >> 20} MiB, peak {stats.PeakAllocated >> 20} MiB");
        CudaMemory.EmptyCache();
        var after = CudaMemory.Stats(index)!;
        yield return new SelfTestCheck("cuda.empty-cache", after.Reserved <= stats.Reserved, null, null,
            $"reserved {stats.Reserved >> 20} → {after.Reserved >> 20} MiB");
    }

    static SelfTestCheck Check(string name, double error, double tolerance, string detail) =>
        new(name, error <= tolerance && !double.IsNaN(error), error, tolerance, detail);
}
