using LongContext.Formats.Config;

namespace LongContext.Tests.Formats.Config;

public class ModelConfigLoaderTests
{
    private static ModelConfig Load(string name) => ModelConfigLoader.Parse(ConfigFixtures.Read(name), name);

    [Fact]
    public void Llama3_8b_reads_sizes_and_default_rope_with_theta_500k()
    {
        var c = Load("llama-3-8b.json");
        Assert.Equal("llama", c.ModelType);
        Assert.Equal((128256, 4096, 14336, 32, 32, 8, 128), (c.VocabSize, c.HiddenSize, c.IntermediateSize,
            c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim));
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(8192, c.MaxPositionEmbeddings);
        Assert.Equal("default", c.Rope.RopeType);
        Assert.Equal(500000.0, c.Rope.RopeTheta);
        Assert.Null(c.Rope.Factor);
        Assert.False(c.TieWordEmbeddings || c.AttentionBias || c.OutputProjBias || c.MlpBias);
        Assert.Equal(128000, c.BosTokenId);
        Assert.Equal([128001], c.EosTokenIds);
        Assert.Equal("bfloat16", c.TorchDtype);
        Assert.Null(c.SlidingWindow);
        Assert.Empty(c.Warnings);
    }

    [Fact]
    public void Llama31_rope_scaling_is_llama3_with_its_frequency_bounds()
    {
        var rope = Load("llama-3.1-8b.json").Rope;
        Assert.Equal("llama3", rope.RopeType);
        Assert.Equal(500000.0, rope.RopeTheta);
        Assert.Equal(8.0, rope.Factor);
        Assert.Equal(1.0, rope.LowFreqFactor);
        Assert.Equal(4.0, rope.HighFreqFactor);
        Assert.Equal(8192, rope.OriginalMaxPositionEmbeddings);
    }

    [Fact]
    public void Transformers5_rope_parameters_form_equals_the_v4_form()
    {
        var v4 = Load("llama-3.1-8b.json");
        var v5 = Load("llama-3.1-8b-v5.json");
        Assert.Equal(v4.Rope, v5.Rope);
        Assert.Equal(v4, v5);
    }

    [Fact]
    public void Llama32_1b_is_tied_with_explicit_head_dim()
    {
        var c = Load("llama-3.2-1b.json");
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(32.0, c.Rope.Factor);
    }

    [Fact]
    public void Mistral_v01_has_a_4096_window_on_every_layer_and_v03_none()
    {
        var v01 = Load("mistral-7b-v0.1.json");
        Assert.Equal(4096, v01.SlidingWindow);
        Assert.Equal(4096, v01.SlidingWindowForLayer(0));
        Assert.Equal(4096, v01.SlidingWindowForLayer(31));
        var v03 = Load("mistral-7b-v0.3.json");
        Assert.Null(v03.SlidingWindow);
        Assert.Equal(1_000_000.0, v03.Rope.RopeTheta);
        Assert.Equal(32768, v03.VocabSize);
    }

    [Fact]
    public void Mistral_without_sliding_window_key_takes_transformers_default_4096()
    {
        var c = ModelConfigLoader.Parse(ConfigFixtures.Minimal(modelType: "mistral"), "t");
        Assert.Equal(4096, c.SlidingWindow);
    }

    [Fact]
    public void Qwen2_has_qkv_bias_only_and_window_off_unless_use_sliding_window()
    {
        var c = Load("qwen2-7b.json");
        Assert.True(c.AttentionBias);
        Assert.False(c.OutputProjBias);
        Assert.False(c.MlpBias);
        Assert.Null(c.SlidingWindow);
        Assert.Equal(28, c.MaxWindowLayers);
        Assert.Equal(1e-6, c.RmsNormEps);
        Assert.True(Load("qwen2.5-0.5b.json").TieWordEmbeddings);
    }

    [Fact]
    public void Qwen2_use_sliding_window_applies_from_max_window_layers_on()
    {
        var json = ConfigFixtures.Minimal("\"use_sliding_window\": true, \"sliding_window\": 512, \"max_window_layers\": 1",
            modelType: "qwen2");
        var c = ModelConfigLoader.Parse(json, "t");
        Assert.Equal(512, c.SlidingWindow);
        Assert.Null(c.SlidingWindowForLayer(0));
        Assert.Equal(512, c.SlidingWindowForLayer(1));
    }

    [Fact]
    public void Qwen25_yarn_legacy_type_key_reads_as_yarn()
    {
        var rope = Load("qwen2.5-7b-instruct-yarn.json").Rope;
        Assert.Equal("yarn", rope.RopeType);
        Assert.Equal(4.0, rope.Factor);
        Assert.Equal(32768, rope.OriginalMaxPositionEmbeddings);
        Assert.Null(rope.AttentionFactor);
    }

    [Fact]
    public void Longrope_takes_top_level_original_max_position_embeddings_like_phi3()
    {
        var c = Load("phi3-style-longrope-llama.json");
        Assert.Equal("longrope", c.Rope.RopeType);
        Assert.Equal(96, c.HeadDim);
        Assert.Equal(4096, c.Rope.OriginalMaxPositionEmbeddings);
        Assert.Equal(48, c.Rope.ShortFactor!.Length);
        Assert.Equal(48, c.Rope.LongFactor!.Length);
        Assert.Empty(c.Warnings);
    }

    [Fact]
    public void Su_is_read_as_longrope()
    {
        var json = ConfigFixtures.Read("phi3-style-longrope-llama.json").Replace("\"type\": \"longrope\"", "\"type\": \"su\"");
        Assert.Equal("longrope", ModelConfigLoader.Parse(json, "t").Rope.RopeType);
    }

    [Theory]
    [InlineData("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}", "linear", 2.0)]
    [InlineData("\"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 4.0}", "dynamic", 4.0)]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"default\"}", "default", null)]
    [InlineData("\"rope_scaling\": null", "default", null)]
    [InlineData("\"rope_parameters\": {\"rope_type\": \"linear\", \"factor\": 3, \"rope_theta\": 20000.0}", "linear", 3.0)]
    public void Rope_types_of_both_forms_are_read(string member, string type, double? factor)
    {
        var rope = ModelConfigLoader.Parse(ConfigFixtures.Minimal(member), "t").Rope;
        Assert.Equal(type, rope.RopeType);
        Assert.Equal(factor, rope.Factor);
    }

    [Fact]
    public void Rope_theta_inside_the_dict_wins_over_top_level_with_a_warning()
    {
        var c = ModelConfigLoader.Parse(ConfigFixtures.Minimal(
            "\"rope_theta\": 10000.0, \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 20000.0}"), "t");
        Assert.Equal(20000.0, c.Rope.RopeTheta);
        Assert.Contains(c.Warnings, w => w.Contains("rope_theta"));
    }

    [Fact]
    public void Partial_rotary_factor_is_read_from_top_level()
    {
        var c = ModelConfigLoader.Parse(ConfigFixtures.Minimal("\"partial_rotary_factor\": 0.5"), "t");
        Assert.Equal(0.5, c.Rope.PartialRotaryFactor);
    }

    [Fact]
    public void Yarn_without_original_max_defaults_to_max_position_embeddings()
    {
        var c = ModelConfigLoader.Parse(ConfigFixtures.Minimal(
            "\"max_position_embeddings\": 4096, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 2.0, \"beta_fast\": 32, \"beta_slow\": 1, \"mscale\": 1.0, \"truncate\": false}"), "t");
        Assert.Equal(4096, c.Rope.OriginalMaxPositionEmbeddings);
        Assert.Equal(32.0, c.Rope.BetaFast);
        Assert.False(c.Rope.Truncate);
    }

    [Fact]
    public void Defaults_follow_transformers_when_keys_are_missing()
    {
        var c = ModelConfigLoader.Parse("""
            {"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4}
            """, "t");
        Assert.Equal(4, c.NumKeyValueHeads);
        Assert.Equal(16, c.HeadDim);
        Assert.Equal(2048, c.MaxPositionEmbeddings);
        Assert.Equal(1e-6, c.RmsNormEps);
        Assert.Equal(10000.0, c.Rope.RopeTheta);
        Assert.Equal("silu", c.HiddenAct);
    }

    [Fact]
    public void Llama_attention_bias_covers_q_k_v_and_o()
    {
        var c = ModelConfigLoader.Parse(ConfigFixtures.Minimal("\"attention_bias\": true, \"mlp_bias\": true"), "t");
        Assert.True(c.AttentionBias && c.OutputProjBias && c.MlpBias);
    }

    [Fact]
    public void Generation_config_eos_ids_are_picked_up_from_the_folder()
    {
        var c = ModelConfigLoader.LoadFromDirectory(ConfigFixtures.Path_("llama-3.1-8b-instruct"));
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
        Assert.Equal("llama3", c.Rope.RopeType);
    }

    [Fact]
    public void Unknown_keys_become_warnings_and_ignorable_keys_do_not()
    {
        var c = ModelConfigLoader.Parse(ConfigFixtures.Minimal(
            "\"my_custom_flag\": 3, \"architectures\": [\"LlamaForCausalLM\"], \"use_cache\": true, \"attn_logit_softcapping\": null"), "cfg.json");
        var warning = Assert.Single(c.Warnings);
        Assert.Contains("my_custom_flag", warning);
        Assert.Contains("cfg.json", warning);
    }

    [Fact]
    public void Model_type_specific_keys_of_another_type_are_warnings()
    {
        var c = ModelConfigLoader.Parse(ConfigFixtures.Minimal("\"sliding_window\": 4096"), "t");
        Assert.Contains(c.Warnings, w => w.Contains("sliding_window"));
        Assert.Null(c.SlidingWindow);
    }

    [Fact]
    public void Layer_types_consistent_with_the_window_are_accepted()
    {
        var json = ConfigFixtures.Minimal("\"use_sliding_window\": true, \"sliding_window\": 64, \"max_window_layers\": 1, "
            + "\"layer_types\": [\"full_attention\", \"sliding_attention\"]", modelType: "qwen2");
        Assert.Equal(64, ModelConfigLoader.Parse(json, "t").SlidingWindowForLayer(1));
    }

    [Fact]
    public void Qwen2_layer_types_override_max_window_layers_as_in_transformers()
    {
        // Window on layer 0 only: the reverse of what max_window_layers 1 would give.
        var json = ConfigFixtures.Minimal("\"use_sliding_window\": true, \"sliding_window\": 64, \"max_window_layers\": 1, "
            + "\"layer_types\": [\"sliding_attention\", \"full_attention\"]", modelType: "qwen2");
        var c = ModelConfigLoader.Parse(json, "t");
        Assert.Equal(64, c.SlidingWindowForLayer(0));
        Assert.Null(c.SlidingWindowForLayer(1));
        Assert.Equal(["sliding_attention", "full_attention"], c.LayerTypes!);

        // A pattern that agrees with max_window_layers is stored as no override: equal to the config without it.
        var implied = ModelConfigLoader.Parse(ConfigFixtures.Minimal("\"use_sliding_window\": true, \"sliding_window\": 64, \"max_window_layers\": 1", "qwen2"), "t");
        var agreeing = ModelConfigLoader.Parse(ConfigFixtures.Minimal("\"use_sliding_window\": true, \"sliding_window\": 64, \"max_window_layers\": 1, "
            + "\"layer_types\": [\"full_attention\", \"sliding_attention\"]", "qwen2"), "t");
        Assert.Null(agreeing.LayerTypes);
        Assert.Equal(implied, agreeing);
        Assert.NotEqual(implied, c);
    }
}
