using LongContext.Core.Attention;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Core.Weights;
using LongContext.Formats.Config;
using static TorchSharp.torch;

namespace LongContext.Tests.Model;

/// <summary>
/// The graph-replayable decode step (device-held position, fixed window of masked cache slots, grouped attention)
/// run eagerly on the CPU against the plain decode path: the same logits at every step, across window buckets.
/// </summary>
public class GraphedDecoderTests
{
    static LlamaForCausalLM Load(string name)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf", "models", name);
        var config = ModelConfigLoader.Parse(File.ReadAllText(Path.Combine(dir, "config.json")), Path.Combine(dir, "config.json"));
        var model = ModelLoader.Create(config, CPU, ScalarType.Float32);
        using var ckpt = SafetensorsCheckpoint.Open(dir);
        using (no_grad())
            ckpt.LoadInto(model.NamedTensors(), new CheckpointLoadOptions { AllowedUnexpected = ["lm_head.weight"] });
        return model;
    }

    [Theory]
    [InlineData("llama_default")]
    [InlineData("llama_llama3")]
    [InlineData("llama_yarn")]
    [InlineData("qwen2_default")]
    public void Device_position_steps_equal_plain_decode_steps(string name)
    {
        using var model = Load(name);
        var backend = new SdpaAttentionBackend();
        var generator = new TextGenerator(model, backend);
        var sampler = new Sampler(SamplingOptions.Greedy);
        var prompt = Enumerable.Range(0, 13).Select(i => (i * 31 + 7) % model.Config.VocabSize).ToArray();
        const int steps = 20, capacity = 13 + steps;
        using var plainCache = new KvCache(model.Config, 1, capacity, model.Dtype, model.Device);
        using var staticCache = new KvCache(model.Config, 1, capacity, model.Dtype, model.Device);
        int first = generator.Prefill(prompt, plainCache, 5, sampler);
        Assert.Equal(first, generator.Prefill(prompt, staticCache, 5, sampler));
        // Bucket 8: windows 16, 24, then the capacity (33), so steps cross two window changes.
        using var decoder = new GraphedDecoder(model, staticCache, useGraphs: false, bucket: 8);
        using var _ = no_grad();
        int token = first;
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var expected = model.Logits(model.Forward(tensor(new long[] { token }).unsqueeze(0), backend, plainCache)[0, -1]);
            var got = decoder.Step(token);
            double err = (got - expected).abs().max().item<float>() / expected.abs().max().item<float>();
            Assert.True(err < 1e-5, $"{name} step {step}: max rel logit error {err:E2}");
            Assert.Equal(plainCache.Length, staticCache.Length);
            token = (int)expected.argmax().item<long>();
        }
    }

    [Fact]
    public void Full_cache_is_a_clear_error()
    {
        using var model = Load("llama_default");
        using var cache = new KvCache(model.Config, 1, 4, model.Dtype, model.Device);
        var generator = new TextGenerator(model, new SdpaAttentionBackend());
        generator.Prefill([1, 2, 3, 4], cache, 4, new Sampler(SamplingOptions.Greedy));
        using var decoder = new GraphedDecoder(model, cache, useGraphs: false);
        var e = Assert.Throws<LongContextException>(() => decoder.Step(5));
        Assert.Contains("full", e.Message);
    }

    [Fact]
    public void Length_dependent_rope_is_refused()
    {
        using var model = Load("llama_dynamic");
        Assert.False(GraphedDecoder.IsSupported(model, out var reason));
        Assert.Contains("dynamic", reason);
    }

    [Fact]
    public void Graphs_are_unavailable_on_the_cpu() => Assert.False(GraphedDecoder.GraphsAvailable(CPU));
}

/// <summary>The FP8 KV-cache option: half the bytes, and generation close to the model-dtype cache.</summary>
public class Fp8KvCacheTests
{
    [Fact]
    public void Fp8_cache_halves_memory_and_keeps_logits_close_through_prefill_decode_and_graph_steps()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf", "models", "llama_default");
        var config = ModelConfigLoader.Parse(File.ReadAllText(Path.Combine(dir, "config.json")), Path.Combine(dir, "config.json"));
        using var model = ModelLoader.Create(config, CPU, ScalarType.Float32);
        using (var ckpt = SafetensorsCheckpoint.Open(dir))
        using (no_grad())
            ckpt.LoadInto(model.NamedTensors(), new CheckpointLoadOptions { AllowedUnexpected = ["lm_head.weight"] });
        var backend = new SdpaAttentionBackend();
        using var exact = new KvCache(config, 1, 64, ScalarType.Float32, CPU);
        using var fp8 = new KvCache(config, 1, 64, ScalarType.Float32, CPU, KvCacheStorage.Fp8E4M3);
        Assert.Equal(exact.Bytes / 4, fp8.Bytes);   // fp32 model here: 4 bytes → 1
        var ids = tensor(Enumerable.Range(0, 40).Select(i => (long)((i * 37 + 5) % config.VocabSize)).ToArray()).unsqueeze(0);
        using var _ = no_grad();
        var a = model.Logits(model.Forward(ids, backend, exact)[0, -1]);
        var b = model.Logits(model.Forward(ids, backend, fp8)[0, -1]);
        // E4M3 keeps 3 mantissa bits: ~3.6% rms error per stored value, so logits move by a few per cent.
        Assert.True(Rel(a, b) < 0.1, $"prefill logits rel. error {Rel(a, b):E2}");
        Assert.Equal(a.argmax().item<long>(), b.argmax().item<long>());
        using var decoder = new GraphedDecoder(model, fp8, useGraphs: false, bucket: 8);
        int token = (int)a.argmax().item<long>();
        for (int step = 0; step < 6; step++)
        {
            var want = model.Logits(model.Forward(tensor(new long[] { token }).unsqueeze(0), backend, exact)[0, -1]);
            var got = decoder.Step(token);
            Assert.True(Rel(want, got) < 0.1, $"decode step {step}: rel. error {Rel(want, got):E2}");
            token = (int)want.argmax().item<long>();
        }
    }

    static double Rel(Tensor want, Tensor got) => (got - want).norm().item<float>() / want.norm().item<float>();

    [Fact]
    public void Device_position_mode_hands_out_fp8_codes_only_when_asked()
    {
        var config = new ModelConfig
        {
            ModelType = "llama", VocabSize = 16, HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1,
            NumAttentionHeads = 2, NumKeyValueHeads = 1, HeadDim = 8, MaxPositionEmbeddings = 64,
        };
        using var cache = new KvCache(config, 1, 32, ScalarType.Float32, CPU, KvCacheStorage.Fp8E4M3);
        var kv = full(new long[] { 1, 1, 1, 8 }, 1.5f);
        using var position = tensor(new long[] { 3 });
        using (cache.UseDevicePosition(position, 16, fp8Codes: true))
        {
            var (k, v) = cache.Append(0, kv, kv);
            Assert.Equal(ScalarType.Byte, k.dtype);
            Assert.Equal(new long[] { 1, 1, 16, 8 }, k.shape);
            Assert.Equal(Fp8E4M3.EncodeMath(kv).data<byte>().ToArray(), k.narrow(2, 3, 1).contiguous().data<byte>().ToArray());
        }
        using (cache.UseDevicePosition(position, 16))
        {
            var (k, _) = cache.Append(0, kv, kv);
            Assert.Equal(ScalarType.Float32, k.dtype);
            Assert.Equal(1.5f, k[0, 0, 3, 0].item<float>());
        }
        var (plain, _) = cache.Append(0, kv, kv);   // outside device-position mode: decoded values
        Assert.Equal(ScalarType.Float32, plain.dtype);
    }
}
