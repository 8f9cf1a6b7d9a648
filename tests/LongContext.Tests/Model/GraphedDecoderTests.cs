using LongContext.Core.Attention;
using LongContext.Core.Config;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Core.Weights;
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
        var e = Assert.Throws<LongContext.Core.LongContextException>(() => decoder.Step(5));
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
