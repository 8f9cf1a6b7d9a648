using LongContext.Formats.Config;

namespace LongContext.Tests.Presets;

public class ModelPresetsTests
{
    [Theory]
    [InlineData("llama-3-8b", 8_030_261_248L)]
    [InlineData("llama-3.1-8b", 8_030_261_248L)]
    [InlineData("llama-3-70b", 70_553_706_496L)]
    [InlineData("llama-3.1-70b", 70_553_706_496L)]
    [InlineData("llama-3.2-1b", 1_235_814_400L)]
    [InlineData("llama-3.2-3b", 3_212_749_824L)]
    public void Parameter_count_matches_the_published_total(string preset, long expected) =>
        Assert.Equal(expected, ModelMath.ParameterCount(ModelPresets.Get(preset)));

    [Fact]
    public void Parameter_count_of_tiny_matches_a_hand_count()
    {
        // embed 256·64 + lm_head 256·64 = 32,768; per layer q 64·64 + k,v 2·64·32 + o 64·64 = 12,288,
        // MLP 3·64·128 = 24,576, norms 2·64 = 128 → 36,992; 2 layers = 73,984; final norm 64.
        Assert.Equal(32_768 + 73_984 + 64, ModelMath.ParameterCount(ModelPresets.Get("tiny")));
    }

    [Fact]
    public void Parameter_count_includes_qkv_biases_and_counts_tied_embeddings_once()
    {
        // tiny-qwen2: tied (one 256·64 matrix) and q/k/v biases 64 + 2·32 = 128 per layer.
        var config = ModelPresets.Get("tiny-qwen2");
        Assert.Equal(16_384 + 2 * (36_992 + 128) + 64, ModelMath.ParameterCount(config));
        Assert.Equal(ModelMath.ParameterCount(config), ModelMath.MatmulParameterCount(config));
    }

    [Fact]
    public void Untied_models_leave_the_embedding_table_out_of_matmul_parameters() =>
        Assert.Equal(8_030_261_248L - 128_256L * 4096, ModelMath.MatmulParameterCount(ModelPresets.Get("llama-3-8b")));

    [Fact]
    public void Kv_cache_of_llama_3_8b_is_128_KiB_per_token() =>
        Assert.Equal(128 * 1024, ModelMath.KvCacheBytesPerToken(ModelPresets.Get("llama-3-8b")));

    [Fact]
    public void Llama_3_1_presets_carry_the_llama3_rope_scaling()
    {
        var rope = ModelPresets.Get("Llama-3.1-8B").Rope;
        Assert.Equal(("llama3", 500000.0, 8.0, 1.0, 4.0, 8192), (rope.RopeType, rope.RopeTheta, rope.Factor!.Value, rope.LowFreqFactor!.Value, rope.HighFreqFactor!.Value, rope.OriginalMaxPositionEmbeddings!.Value));
        Assert.Equal(131072, ModelPresets.Get("llama-3.1-8b").MaxPositionEmbeddings);
        var small = ModelPresets.Get("llama-3.2-1b");
        Assert.Equal((32.0, true, 64, 16), (small.Rope.Factor!.Value, small.TieWordEmbeddings, small.HeadDim, small.NumHiddenLayers));
    }

    [Fact]
    public void Unknown_preset_throws_a_config_error_listing_the_names()
    {
        var e = Assert.Throws<ConfigException>(() => ModelPresets.Get("llama-9"));
        Assert.Contains("llama-9", e.Message);
        foreach (var name in ModelPresets.Names) Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Names_list_every_preset_and_each_resolves()
    {
        Assert.Equal(["llama-3-8b", "llama-3-70b", "llama-3.1-8b", "llama-3.1-70b", "llama-3.2-1b", "llama-3.2-3b", "tiny", "tiny-qwen2"], ModelPresets.Names);
        foreach (var name in ModelPresets.Names)
        {
            var c = ModelPresets.Get(name.ToUpperInvariant());
            Assert.Equal(0, c.NumAttentionHeads % c.NumKeyValueHeads);
            Assert.True(ModelPresets.Contains(name));
        }
        Assert.False(ModelPresets.Contains("gpt-2"));
    }
}
