using System.Text.Json;
using LongContext.Core.Rope;
using LongContext.Formats.Config;

namespace LongContext.Tests.Formats.Config;

public class ModelConfigWriterTests
{
    public static TheoryData<string> Fixtures => new(ConfigFixtures.All);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Parse_of_write_equals_the_original_in_both_forms(string name)
    {
        var original = ModelConfigLoader.Parse(ConfigFixtures.Read(name), name);
        foreach (var v5 in new[] { false, true })
        {
            var json = ModelConfigWriter.ToJson(original, v5);
            var back = ModelConfigLoader.Parse(json, "written");
            Assert.Equal(original, back);
            Assert.Empty(back.Warnings);
        }
    }

    [Fact]
    public void Equality_detects_a_changed_field()
    {
        var a = ModelConfigLoader.Parse(ConfigFixtures.Read("llama-3.1-8b.json"), "t");
        Assert.NotEqual(a, a with { Rope = a.Rope with { Factor = 4.0 } });
        Assert.NotEqual(a, a with { EosTokenIds = [1] });
        var longrope = ModelConfigLoader.Parse(ConfigFixtures.Read("phi3-style-longrope-llama.json"), "t");
        var changed = (double[])longrope.Rope.LongFactor!.Clone();
        changed[5] += 1e-9;
        Assert.NotEqual(longrope, longrope with { Rope = longrope.Rope with { LongFactor = changed } });
    }

    [Fact]
    public void V4_form_has_architectures_rope_theta_and_rope_scaling_with_rope_type()
    {
        var config = ModelConfigLoader.Parse(ConfigFixtures.Read("llama-3.1-8b.json"), "t");
        using var doc = JsonDocument.Parse(ModelConfigWriter.ToJson(config));
        var root = doc.RootElement;
        Assert.Equal("LlamaForCausalLM", root.GetProperty("architectures")[0].GetString());
        Assert.Equal("llama", root.GetProperty("model_type").GetString());
        Assert.Equal(500000.0, root.GetProperty("rope_theta").GetDouble());
        Assert.Equal("llama3", root.GetProperty("rope_scaling").GetProperty("rope_type").GetString());
        Assert.Equal("bfloat16", root.GetProperty("torch_dtype").GetString());
        Assert.False(root.TryGetProperty("rope_parameters", out _));
    }

    [Fact]
    public void V5_form_puts_theta_inside_rope_parameters()
    {
        var config = ModelConfigLoader.Parse(ConfigFixtures.Read("llama-3-8b.json"), "t");
        using var doc = JsonDocument.Parse(ModelConfigWriter.ToJson(config, v5Form: true));
        var rope = doc.RootElement.GetProperty("rope_parameters");
        Assert.Equal("default", rope.GetProperty("rope_type").GetString());
        Assert.Equal(500000.0, rope.GetProperty("rope_theta").GetDouble());
        Assert.False(doc.RootElement.TryGetProperty("rope_theta", out _));
        Assert.Equal("bfloat16", doc.RootElement.GetProperty("dtype").GetString());
    }

    [Fact]
    public void Floats_are_written_as_python_float_literals()
    {
        var json = ModelConfigWriter.ToJson(ModelConfigLoader.Parse(ConfigFixtures.Read("llama-3-8b.json"), "t"));
        Assert.Contains("\"rope_theta\": 500000.0", json);
        Assert.Contains("\"rms_norm_eps\": 1e-05", json);
        Assert.Contains("\"vocab_size\": 128256\n", json);
    }

    [Fact]
    public void Qwen2_window_round_trips_as_use_sliding_window()
    {
        var config = ModelConfigLoader.Parse(ConfigFixtures.Minimal(
            "\"use_sliding_window\": true, \"sliding_window\": 256, \"max_window_layers\": 1", "qwen2"), "t");
        var json = ModelConfigWriter.ToJson(config);
        Assert.Contains("\"use_sliding_window\": true", json);
        Assert.Equal(config, ModelConfigLoader.Parse(json, "t"));
    }

    [Fact]
    public void Qwen2_layer_types_pattern_round_trips()
    {
        var config = ModelConfigLoader.Parse(ConfigFixtures.Minimal(
            "\"use_sliding_window\": true, \"sliding_window\": 256, \"layer_types\": [\"sliding_attention\", \"full_attention\"]", "qwen2"), "t");
        var json = ModelConfigWriter.ToJson(config);
        Assert.Contains("\"layer_types\"", json);
        var back = ModelConfigLoader.Parse(json, "t");
        Assert.Equal(config, back);
        Assert.Equal(256, back.SlidingWindowForLayer(0));
        Assert.Null(back.SlidingWindowForLayer(1));
    }

    [Fact]
    public void Unwritable_combinations_are_config_errors()
    {
        var llama = ModelConfigLoader.Parse(ConfigFixtures.Minimal(), "t");
        Assert.Throws<ConfigException>(() => ModelConfigWriter.ToJson(llama with { OutputProjBias = true }));
        Assert.Throws<ConfigException>(() => ModelConfigWriter.ToJson(llama with { ModelType = "gpt2" }));
        Assert.Throws<ConfigException>(() => ModelConfigWriter.ToJson(llama with { ModelType = "mistral", MlpBias = true }));
    }

    [Fact]
    public void WriteToDirectory_writes_atomically_and_loads_back()
    {
        var dir = Directory.CreateTempSubdirectory("lc-cfgw-").FullName;
        try
        {
            var config = ModelConfigLoader.Parse(ConfigFixtures.Read("qwen2.5-0.5b.json"), "t") with
            {
                Rope = new RopeParameters { RopeType = "yarn", RopeTheta = 1e6, Factor = 4, OriginalMaxPositionEmbeddings = 32768 },
            };
            ModelConfigWriter.WriteToDirectory(config, dir);
            Assert.False(File.Exists(Path.Combine(dir, "config.json.tmp")));
            Assert.Equal(config, ModelConfigLoader.LoadFromDirectory(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
