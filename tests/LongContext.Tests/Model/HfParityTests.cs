using System.Text.Json;
using LongContext.Core.Attention;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Core.Weights;
using LongContext.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Model;

/// <summary>
/// Our engine against transformers 5.17 on tiny random models (tests/fixtures/hf, recorded on an H100 by
/// tools/fixtures/make_fixtures.py): every architecture × RoPE type × config form, fp32 on the CPU.
/// </summary>
public class HfParityTests
{
    static readonly string Root = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf", "models");

    public static IEnumerable<object[]> Cases() =>
        Directory.EnumerateDirectories(Root).Select(Path.GetFileName).Order()
            .SelectMany(name => new[] { new object[] { name!, "config.json" }, [name!, "config_v5.json"] });

    static (LlamaForCausalLM model, JsonElement reference) Load(string name, string configFile)
    {
        var dir = Path.Combine(Root, name);
        var config = ModelConfigLoader.Parse(File.ReadAllText(Path.Combine(dir, configFile)), Path.Combine(dir, configFile));
        var model = ModelLoader.Create(config, CPU, ScalarType.Float32);
        using (var ckpt = SafetensorsCheckpoint.Open(dir))
        using (no_grad())
            ckpt.LoadInto(model.NamedTensors(), new CheckpointLoadOptions { AllowedUnexpected = ["lm_head.weight"] });
        var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "reference.json"))).RootElement;
        return (model, reference);
    }

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Perplexity_matches_transformers(string name, string configFile)
    {
        var (model, reference) = Load(name, configFile);
        var expected = reference.GetProperty("results").GetProperty("fp32_cpu");
        var ids = Ints(reference.GetProperty("input_ids"));
        var result = Perplexity.Compute(model, ids, new SdpaAttentionBackend());
        double expectedPpl = expected.GetProperty("perplexity").GetDouble();
        double rel = Math.Abs(result.Perplexity - expectedPpl) / expectedPpl;
        Assert.True(rel <= 1e-4, $"{name}/{configFile}: perplexity {result.Perplexity} vs transformers {expectedPpl} (rel {rel:E2})");
        Assert.Equal(ids.Length, result.TokenCount);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_match_transformers_at_recorded_positions(string name, string configFile)
    {
        var (model, reference) = Load(name, configFile);
        var ids = Ints(reference.GetProperty("input_ids"));
        var logitsRef = reference.GetProperty("results").GetProperty("fp32_cpu").GetProperty("logits");
        using var _ = no_grad();
        var hidden = model.Forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0), new FusedAttentionBackend())[0];
        foreach (var pos in logitsRef.EnumerateObject())
        {
            var expected = tensor(pos.Value.EnumerateArray().Select(x => x.GetSingle()).ToArray());
            var got = model.Logits(hidden[int.Parse(pos.Name)]);
            double err = (got - expected).abs().max().item<float>() / expected.abs().max().item<float>();
            Assert.True(err < 1e-4, $"{name}/{configFile} position {pos.Name}: max rel logit error {err:E2}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_continuation_matches_transformers_generate(string name, string configFile)
    {
        var (model, reference) = Load(name, configFile);
        var expected = reference.GetProperty("results").GetProperty("fp32_cpu");
        var prompt = Ints(reference.GetProperty("prompt_ids"));
        var want = Ints(expected.GetProperty("greedy_generate"));
        // Small prefill chunks exercise the chunked path (queries at the end of the cached keys).
        var got = new TextGenerator(model, new SdpaAttentionBackend())
            .Generate(prompt, new GenerationOptions { MaxNewTokens = want.Length, PrefillChunk = 37 }).ToArray();
        Assert.Equal(want, got);
    }
}
