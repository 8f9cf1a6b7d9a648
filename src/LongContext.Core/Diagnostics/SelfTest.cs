using LongContext.Core.Attention;
using LongContext.Core.Native;
using TorchSharp;
using static TorchSharp.torch;
using LongContext.Formats.Config;

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
        checks.AddRange(Guard("attention.documents", () => DocumentAttentionChecks(device)));
        if (device.type == DeviceType.CUDA) checks.AddRange(Guard("cuda-runtime", () => CudaRuntimeChecks(device)));
        if (device.type == DeviceType.CUDA && NativeAddon.HasCudaKernels) checks.AddRange(Guard("decode-kernel", () => DecodeKernelChecks(device)));
        if (device.type == DeviceType.CUDA && NativeAddon.HasCudaKernels) checks.AddRange(Guard("decode-kernel-fp8", () => DecodeKernelChecks(device, fp8: true)));
        if (device.type == DeviceType.CUDA && NativeAddon.IsAvailable) checks.AddRange(Guard("fp8-codec", () => Fp8CodecChecks(device)));
        checks.AddRange(Guard("model", () => ModelChecks(device)));
        checks.AddRange(Guard("kv-fp8", () => Fp8KvCacheChecks(device)));
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

    /// <summary>
    /// Packed-document attention (block-diagonal causal, one causal kernel call per document segment) and its backward
    /// against explicit masked softmax attention in float64 on the CPU: two rows with different documents (a one-token
    /// document among them), GQA 4:1.
    /// </summary>
    internal static IEnumerable<SelfTestCheck> DocumentAttentionChecks(Device device)
    {
        bool cuda = device.type == DeviceType.CUDA;
        var documents = new DocumentSegments([[0, 100, 260, 261, 400], [0, 300]], 512);
        foreach (var dtype in cuda ? new[] { ScalarType.BFloat16, ScalarType.Float32 } : new[] { ScalarType.Float32 })
        {
            using var scope = NewDisposeScope();
            var gen = new Generator(4321);
            Tensor Draw(long h) => randn(new long[] { 2, h, 512, 64 }, generator: gen).to(dtype).to(device);
            var (q, k, v, dout) = (Draw(8), Draw(2), Draw(2), Draw(8));
            string tag = dtype == ScalarType.BFloat16 ? "bf16" : "fp32";
            double tol = dtype == ScalarType.BFloat16 ? Bf16Tolerance : Fp32Tolerance;

            // Reference: the same (already rounded) inputs, every score computed, other documents and the future masked.
            var (qr, kr, vr) = (q.to(ScalarType.Float64).cpu().requires_grad_(), k.to(ScalarType.Float64).cpu().requires_grad_(), v.to(ScalarType.Float64).cpu().requires_grad_());
            var ids = documents.DocumentIds(CPU);
            var blocked = ids.unsqueeze(2).ne(ids.unsqueeze(1)).logical_or(arange(512).unsqueeze(0) > arange(512).unsqueeze(1)).unsqueeze(1);
            var scores = matmul(qr, kr.repeat_interleave(4, dim: 1).transpose(-2, -1)).div(8.0).masked_fill(blocked, double.NegativeInfinity);
            var expected = matmul(scores.softmax(-1), vr.repeat_interleave(4, dim: 1));
            var expectedLse = scores.logsumexp(-1);
            (expected * dout.to(ScalarType.Float64).cpu()).sum().backward();

            var got = DocumentAttention.Forward(q, k, v, documents);
            string kernel = FusedAttention.UsesNative(q) ? FusedAttention.LastKernel : "math";
            var (dq, dk, dv) = DocumentAttention.Backward(dout, q, k, v, got.Output, got.Lse, documents);
            string detail = $"2 rows, documents [0,100,260,261,400] and [0,300] of 512, GQA 8:2, one causal {kernel} call per segment";
            yield return Check($"attention.documents.forward[{tag}]", RelErr(got.Output, expected), tol, detail);
            yield return Check($"attention.documents.lse[{tag}]", RelErr(got.Lse, expectedLse), tol, detail);
            double gradErr = new[] { RelErr(dq, qr.grad!), RelErr(dk, kr.grad!), RelErr(dv, vr.grad!) }.Max();
            yield return Check($"attention.documents.backward[{tag}]", gradErr, tol, "max of dq/dk/dv; " + detail);
        }
    }

    static IEnumerable<SelfTestCheck> CudaRuntimeChecks(Device device)
    {
        if (!NativeAddon.IsAvailable)
        {
            yield return new SelfTestCheck("native-addon", false, null, null, NativeAddon.Status);
            yield break;
        }
        int index = CudaDevice.IndexOf(device);
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

    /// <summary>The checks' model: a 4-layer GQA Llama with fixed random weights (seed 7, std 0.05).</summary>
    static readonly ModelConfig FixtureConfig = new()
    {
        ModelType = "llama", VocabSize = 512, HiddenSize = 256, IntermediateSize = 512, NumHiddenLayers = 4,
        NumAttentionHeads = 8, NumKeyValueHeads = 2, HeadDim = 32, MaxPositionEmbeddings = 4096,
        Rope = new RopeParameters { RopeTheta = 500_000 },
    };

    /// <summary>The fixture model on the device (bf16 on CUDA) and its fp32 CPU reference, same weights.</summary>
    static (Model.LlamaForCausalLM Reference, Model.LlamaForCausalLM Model) FixtureModels(Device device, ScalarType dtype)
    {
        var reference = Model.ModelLoader.CreateRandom(FixtureConfig, CPU, ScalarType.Float32, seed: 7, std: 0.05);
        var model = Model.ModelLoader.Create(FixtureConfig, device, dtype);
        using (no_grad())
        {
            var src = reference.NamedTensors();
            foreach (var (name, p) in model.NamedTensors()) p.copy_(src[name]);
        }
        return (reference, model);
    }

    /// <summary>
    /// A small random Llama (GQA, 4 layers) run on the device (bf16 on CUDA) against the same weights in fp32 on
    /// the CPU: last-position logits and hidden states, through the device's default attention backend.
    /// </summary>
    static IEnumerable<SelfTestCheck> ModelChecks(Device device)
    {
        var config = FixtureConfig;
        bool cuda = device.type == DeviceType.CUDA;
        var dtype = cuda ? ScalarType.BFloat16 : ScalarType.Float32;
        var (reference, model) = FixtureModels(device, dtype);
        using var _r = reference;
        using var _m = model;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = randint(0, config.VocabSize, new long[] { 1, 300 }, generator: new Generator(99));
        var expected = reference.Logits(reference.Forward(ids, new SdpaAttentionBackend())[0]);
        var backend = Inference.EngineSession.DefaultBackend(device);
        // Chunked prefill through a KV cache, as generation runs it.
        using var cache = new Inference.KvCache(config, 1, 300, dtype, device);
        var parts = new List<Tensor>();
        foreach (var (start, len) in new[] { (0, 128), (128, 128), (256, 44) })
            parts.Add(model.Forward(ids.narrow(1, start, len).to(device), backend, cache)[0]);
        var got = model.Logits(cat(parts, 0));
        double tol = cuda ? Bf16Tolerance * 2.5 : Fp32Tolerance;
        yield return Check($"model.logits[{(cuda ? "bf16 " + backend.Name : "fp32 " + backend.Name)} vs fp32 cpu]", RelErr(got, expected), tol,
            "4-layer GQA Llama, 300 tokens prefilled in 3 chunks through the KV cache");
        yield return Check("model.argmax-agreement", 1.0 - (got.cpu().argmax(-1) == expected.argmax(-1)).to(ScalarType.Float64).mean().item<double>(),
            cuda ? 0.05 : 0.0, "fraction of positions whose top token differs");

        // Decode: steps replayed from CUDA graphs (eager device-position steps without them) vs plain eager steps.
        var (worst, graphs, captured) = GraphedVersusEagerDecode(model, backend, ids.to(device), Inference.KvCacheStorage.ModelDtype);
        yield return Check($"decode.{(graphs ? "cuda-graph" : "device-position")}[vs eager steps]", worst, cuda ? Bf16Tolerance : Fp32Tolerance,
            $"16 steps after 280 tokens, {captured} graph(s) captured; worst step");
    }

    /// <summary>Worst relative logit error of 16 graph decode steps (eager device-position steps without graphs)
    /// against plain eager steps, both after the same 280-token prompt, on caches of <paramref name="storage"/>.</summary>
    static (double Worst, bool Graphs, int Captured) GraphedVersusEagerDecode(Model.LlamaForCausalLM model, Attention.IAttentionBackend backend,
        Tensor ids, Inference.KvCacheStorage storage)
    {
        var (config, device, dtype) = (model.Config, model.Device, model.Dtype);
        using var plain = new Inference.KvCache(config, 1, 300, dtype, device, storage);
        using var graphed = new Inference.KvCache(config, 1, 300, dtype, device, storage);
        var prompt = ids.narrow(1, 0, 280);
        model.Forward(prompt, backend, plain);
        model.Forward(prompt, backend, graphed);
        bool graphs = Inference.GraphedDecoder.GraphsAvailable(device);
        using var decoder = new Inference.GraphedDecoder(model, graphed, useGraphs: graphs, bucket: 128);
        double worst = 0;
        for (int step = 0; step < 16; step++)
        {
            int token = (int)ids[0, 280 + step].item<long>();
            var eager = model.Logits(model.Forward(tensor(new long[] { token }, device: device).unsqueeze(0), backend, plain)[0, -1]);
            worst = Math.Max(worst, RelErr(decoder.Step(token), eager));
        }
        return (worst, graphs, decoder.GraphsCaptured);
    }

    /// <summary>Tolerance of FP8-cache logits against the model-dtype cache: E4M3 keeps 3 mantissa bits (≤ 1/16 per value).</summary>
    public const double Fp8KvTolerance = 0.1;

    /// <summary>
    /// The FP8 E4M3 KV cache against the model-dtype cache (bf16 on CUDA) on the same device and weights: logits of a
    /// 300-token prompt prefilled in 3 chunks (later chunks attend over decoded FP8 history), then 16 eager decode steps.
    /// </summary>
    public static IEnumerable<SelfTestCheck> Fp8KvCacheChecks(Device device)
    {
        bool cuda = device.type == DeviceType.CUDA;
        var dtype = cuda ? ScalarType.BFloat16 : ScalarType.Float32;
        var (reference, model) = FixtureModels(device, dtype);
        using var _r = reference;
        using var _m = model;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var backend = Inference.EngineSession.DefaultBackend(device);
        var ids = randint(0, FixtureConfig.VocabSize, new long[] { 1, 316 }, generator: new Generator(99)).to(device);
        using var plain = new Inference.KvCache(FixtureConfig, 1, 320, dtype, device);
        using var fp8 = new Inference.KvCache(FixtureConfig, 1, 320, dtype, device, Inference.KvCacheStorage.Fp8E4M3);
        Tensor Prefill(Inference.KvCache cache) => model.Logits(cat(new[] { (0, 128), (128, 128), (256, 44) }
            .Select(c => model.Forward(ids.narrow(1, c.Item1, c.Item2), backend, cache)[0]).ToArray(), 0));
        var expected = Prefill(plain);
        var got = Prefill(fp8);
        yield return Check($"kv-fp8.prefill-logits[{(cuda ? "bf16" : "fp32")} {backend.Name}, fp8 cache vs {(cuda ? "bf16" : "fp32")} cache]", RelErr(got, expected),
            Fp8KvTolerance, "4-layer GQA Llama, 300 tokens prefilled in 3 chunks");
        yield return Check("kv-fp8.prefill-argmax-agreement", 1.0 - (got.argmax(-1) == expected.argmax(-1)).to(ScalarType.Float64).mean().item<double>(),
            0.1, "fraction of positions whose top token differs");
        double worst = 0;
        for (int step = 0; step < 16; step++)
        {
            var token = ids.narrow(1, 300 + step, 1);
            var a = model.Logits(model.Forward(token, backend, plain)[0, -1]);
            var b = model.Logits(model.Forward(token, backend, fp8)[0, -1]);
            worst = Math.Max(worst, RelErr(b, a));
        }
        yield return Check("kv-fp8.decode-logits[16 eager steps]", worst, Fp8KvTolerance, "worst step after the 300-token prefill");

        // Graph decode on an FP8 cache hands the attention the codes (the split-KV kernel where it applies, else a
        // decode inside the step); it must match eager steps over the same FP8 cache, which decode in the cache.
        var (worstGraph, graphs, _) = GraphedVersusEagerDecode(model, backend, ids, Inference.KvCacheStorage.Fp8E4M3);
        yield return Check($"kv-fp8.{(graphs ? "cuda-graph" : "device-position")}-decode[vs eager steps, both fp8]", worstGraph,
            cuda ? Bf16Tolerance : Fp32Tolerance, "16 steps after 280 tokens; the step reads the FP8 codes itself");
    }

    /// <summary>
    /// The add-on's ATen float8_e4m3fn casts against the tensor-op codec: every code decodes to the same value, and
    /// encoding random values (normals, subnormals, values past ±448 that saturate) gives the same values.
    /// </summary>
    static IEnumerable<SelfTestCheck> Fp8CodecChecks(Device device)
    {
        using var scope = NewDisposeScope();
        var codes = arange(256, dtype: ScalarType.Int32).to(ScalarType.Byte).to(device);
        var native = Inference.Fp8E4M3.Decode(codes, ScalarType.Float32).cpu();
        var math = Inference.Fp8E4M3.DecodeMath(codes, ScalarType.Float32).cpu();
        bool sameNan = native.isnan().eq(math.isnan()).all().item<bool>();
        double decodeDiff = (native.nan_to_num(0) - math.nan_to_num(0)).abs().max().item<float>();
        yield return new SelfTestCheck("fp8-codec.decode[256 codes, add-on vs tensor ops]", sameNan && decodeDiff == 0, decodeDiff, 0,
            sameNan ? "ATen float8_e4m3fn cast" : "NaN codes differ");

        var gen = new Generator(5);
        var x = cat(new[]
        {
            randn(new long[] { 4096 }, generator: gen),
            randn(new long[] { 1024 }, generator: gen) * 0.01,    // subnormals (< 2^-6) and values that round to 0
            randn(new long[] { 1024 }, generator: gen) * 400,     // past ±448: saturate
        }).to(ScalarType.BFloat16).to(device);
        var viaNative = Inference.Fp8E4M3.DecodeMath(Inference.Fp8E4M3.Encode(x).cpu(), ScalarType.Float32);
        var viaMath = Inference.Fp8E4M3.DecodeMath(Inference.Fp8E4M3.EncodeMath(x).cpu(), ScalarType.Float32);
        double encodeDiff = (viaNative - viaMath).abs().max().item<float>();
        yield return new SelfTestCheck("fp8-codec.encode[6144 bf16 values, add-on vs tensor ops]", encodeDiff == 0 && !viaNative.isnan().any().item<bool>(),
            encodeDiff, 0, "round to nearest even, saturating at ±448 (signed zeros may differ; values compared)");
    }

    /// <summary>(Hq, Hkv, D, window, visible keys): Llama-3-8B's grouping, MHA, 8 groups, head sizes 64 and 256.</summary>
    static readonly (int hq, int hkv, int d, int window, int visible)[] DecodeShapes =
    [
        (32, 8, 128, 4096, 3977),
        (8, 8, 64, 2048, 2048),
        (16, 2, 128, 1024, 17),
        (4, 2, 256, 3072, 2500),
    ];

    /// <summary>
    /// The add-on's split-KV decode kernel against fp32 math attention over the visible keys. With
    /// <paramref name="fp8"/> the K/V are FP8-E4M3 codes (the reference decodes them exactly), over the decode shapes
    /// plus a window that is no multiple of the split size, with bf16 queries as the engine has them.
    /// </summary>
    static IEnumerable<SelfTestCheck> DecodeKernelChecks(Device device, bool fp8 = false)
    {
        var shapes = fp8 ? DecodeShapes.Append((32, 8, 128, 3001, 2999)) : DecodeShapes;
        foreach (var (hq, hkv, d, window, visible) in shapes)
        {
            using var scope = NewDisposeScope();
            var gen = new Generator(99);
            Tensor Stored(Tensor x) => fp8 ? Inference.Fp8E4M3.EncodeMath(x) : x.to(ScalarType.BFloat16);
            Tensor Values(Tensor x) => fp8 ? Inference.Fp8E4M3.DecodeMath(x, ScalarType.Float32) : x.to(ScalarType.Float32);
            var q = randn([1, hq, 1, d], generator: gen).to(ScalarType.BFloat16).to(device);
            // K/V as a window of a longer cache: strided views, like the graph decoder's.
            var kCache = Stored(randn([1, hkv, window + 512, d], generator: gen)).to(device);
            var vCache = Stored(randn([1, hkv, window + 512, d], generator: gen)).to(device);
            var k = kCache.narrow(2, 0, window);
            var v = vCache.narrow(2, 0, window);
            var mask = zeros(window, ScalarType.Float32, device).index_fill_(0, arange(visible, window, device: device), double.NegativeInfinity);
            var attention = new GroupedDecodeAttention { Mask = mask };
            double scale = 1.0 / Math.Sqrt(d);
            bool applies = GroupedDecodeAttention.NativeKernelApplies(q, k, v, mask);
            var got = attention.Attend(q, k, v, causal: false, scale);
            var expected = MathAttention.Forward(q.to(ScalarType.Float32), Values(k.narrow(2, 0, visible)), Values(v.narrow(2, 0, visible)),
                causal: false, scale).Output;
            string what = fp8 ? "split-KV CUDA kernel on E4M3 codes vs fp32 math attention on the decoded codes"
                : "split-KV CUDA kernel (bf16) vs fp32 math attention over the visible keys";
            yield return Check($"decode-kernel{(fp8 ? "-fp8" : "")}[hq={hq} hkv={hkv} d={d} window={window} visible={visible}]",
                applies ? RelErr(got, expected) : double.NaN, Bf16Tolerance / 4, applies ? what : "kernel did not apply to these tensors");
        }
    }

    static SelfTestCheck Check(string name, double error, double tolerance, string detail) =>
        new(name, error <= tolerance && !double.IsNaN(error), error, tolerance, detail);
}
