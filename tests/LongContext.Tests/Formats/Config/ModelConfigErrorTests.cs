using LongContext.Formats.Config;

namespace LongContext.Tests.Formats.Config;

public class ModelConfigErrorTests
{
    private static ConfigException Fails(string json, string source = "model/config.json") =>
        Assert.Throws<ConfigException>(() => ModelConfigLoader.Parse(json, source));

    private static ConfigException FailsWith(string extra, string modelType = "llama") =>
        Fails(ConfigFixtures.Minimal(extra, modelType));

    [Fact]
    public void Unknown_model_type_names_field_value_and_supported_list()
    {
        var e = Fails(ConfigFixtures.Minimal(modelType: "gpt2"));
        Assert.Contains("model/config.json", e.Message);
        Assert.Contains("'model_type'", e.Message);
        Assert.Contains("gpt2", e.Message);
        Assert.Contains("llama, mistral, qwen2", e.Message);
    }

    [Fact]
    public void Missing_model_type_is_an_error()
    {
        Assert.Contains("'model_type'", Fails("{\"hidden_size\": 4}").Message);
    }

    [Fact]
    public void Unknown_rope_type_names_the_field_and_supported_list()
    {
        var e = FailsWith("\"rope_scaling\": {\"rope_type\": \"ntk-by-parts\", \"factor\": 2.0}");
        Assert.Contains("'rope_scaling.rope_type'", e.Message);
        Assert.Contains("ntk-by-parts", e.Message);
        Assert.Contains("default, linear, dynamic, yarn, llama3, longrope", e.Message);
        var v5 = FailsWith("\"rope_parameters\": {\"rope_type\": \"magic\"}");
        Assert.Contains("'rope_parameters.rope_type'", v5.Message);
    }

    [Fact]
    public void Legacy_type_key_error_also_names_rope_type()
    {
        Assert.Contains("'rope_scaling.rope_type'", FailsWith("\"rope_scaling\": {\"type\": \"weird\"}").Message);
    }

    [Fact]
    public void Unknown_key_inside_the_rope_dict_is_an_error()
    {
        var e = FailsWith("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, "
            + "\"high_freq_factor\": 4.0, \"beta_fast\": 32}");
        Assert.Contains("'beta_fast'", e.Message);
        Assert.Contains("llama3", e.Message);
    }

    [Fact]
    public void Missing_required_rope_keys_are_named()
    {
        var e = FailsWith("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}");
        Assert.Contains("'low_freq_factor'", e.Message);
        Assert.Contains("'high_freq_factor'", e.Message);
        Assert.Contains("'factor'", FailsWith("\"rope_scaling\": {\"type\": \"yarn\"}").Message);
        Assert.Contains("'short_factor'", FailsWith("\"rope_scaling\": {\"type\": \"longrope\", \"long_factor\": [1.0]}").Message);
    }

    [Theory]
    [InlineData("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 0.5}", "rope_scaling.factor")]
    [InlineData("\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4.0, \"beta_fast\": 1, \"beta_slow\": 32}", "rope_scaling.beta_fast")]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": 1.0}", "rope_scaling.high_freq_factor")]
    [InlineData("\"rope_scaling\": {\"type\": \"longrope\", \"short_factor\": [1.0], \"long_factor\": [1.0]}", "rope_scaling.short_factor")]
    [InlineData("\"rope_scaling\": {\"type\": \"linear\", \"factor\": \"two\"}", "rope_scaling.factor")]
    [InlineData("\"rope_theta\": -5", "rope_theta")]
    [InlineData("\"partial_rotary_factor\": 1.5", "partial_rotary_factor")]
    [InlineData("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}, \"rope_parameters\": {\"rope_type\": \"default\"}", "rope_parameters")]
    [InlineData("\"rope_scaling\": {\"type\": \"linear\", \"rope_type\": \"yarn\", \"factor\": 2}", "rope_scaling.type")]
    [InlineData("\"rope_scaling\": [1, 2]", "rope_scaling")]
    public void Invalid_rope_values_name_the_field(string member, string field)
    {
        Assert.Contains($"'{field}'", FailsWith(member).Message);
    }

    [Fact]
    public void Pretraining_tp_other_than_1_is_refused()
    {
        var e = FailsWith("\"pretraining_tp\": 2");
        Assert.Contains("'pretraining_tp'", e.Message);
    }

    [Theory]
    [InlineData("\"attn_logit_softcapping\": 50.0", "attn_logit_softcapping")]
    [InlineData("\"num_local_experts\": 8", "num_local_experts")]
    [InlineData("\"qk_layernorm\": true", "qk_layernorm")]
    [InlineData("\"quantization_config\": {\"quant_method\": \"awq\"}", "quantization_config")]
    public void Math_changing_unsupported_keys_are_errors(string member, string key)
    {
        var e = FailsWith(member);
        Assert.Contains($"'{key}'", e.Message);
        Assert.Contains("not supported", e.Message);
    }

    [Theory]
    [InlineData("\"num_attention_heads\": 5", "num_attention_heads")] // 64 % 5
    [InlineData("\"num_key_value_heads\": 3", "num_key_value_heads")] // 4 % 3
    [InlineData("\"vocab_size\": 0", "vocab_size")]
    [InlineData("\"intermediate_size\": -1", "intermediate_size")]
    [InlineData("\"head_dim\": 15", "head_dim")]
    [InlineData("\"rms_norm_eps\": 0", "rms_norm_eps")]
    [InlineData("\"hidden_act\": \"gelu\"", "hidden_act")]
    [InlineData("\"tie_word_embeddings\": \"yes\"", "tie_word_embeddings")]
    [InlineData("\"max_position_embeddings\": 1.5", "max_position_embeddings")]
    [InlineData("\"eos_token_id\": [1, \"x\"]", "eos_token_id")]
    [InlineData("\"bos_token_id\": -1", "bos_token_id")]
    public void Invalid_numbers_name_the_field(string member, string field)
    {
        // Later members of a JSON object override nothing here: Minimal() puts `member` last, so duplicates fail first.
        var json = ConfigFixtures.Minimal().Replace($"\"{field}\": ", $"\"{field}_was\": ").TrimEnd().TrimEnd('}') + ", " + member + "}";
        var e = Fails(json);
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void Missing_required_size_is_named()
    {
        var e = Fails("{\"model_type\": \"llama\", \"vocab_size\": 10, \"num_attention_heads\": 2, \"intermediate_size\": 8, \"num_hidden_layers\": 1}");
        Assert.Contains("'hidden_size'", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Invalid_json_names_the_file_and_line()
    {
        var e = Fails("{\n  \"model_type\": \"llama\",\n  oops\n}", "dir/config.json");
        Assert.Contains("dir/config.json", e.Message);
        Assert.Contains("line 3", e.Message);
    }

    [Fact]
    public void Duplicate_keys_are_an_error()
    {
        Assert.Contains("twice", FailsWith("\"vocab_size\": 5").Message);
    }

    [Fact]
    public void Qwen2_use_sliding_window_without_a_window_is_an_error()
    {
        var e = FailsWith("\"use_sliding_window\": true, \"sliding_window\": null", modelType: "qwen2");
        Assert.Contains("'sliding_window'", e.Message);
    }

    [Fact]
    public void Layer_types_that_disagree_with_the_window_are_an_error()
    {
        var e = FailsWith("\"layer_types\": [\"sliding_attention\", \"full_attention\"]");
        Assert.Contains("'layer_types'", e.Message);
    }

    [Theory]
    [InlineData("\"layer_types\": [\"sliding_attention\", \"full_attention\"]", "qwen2", "no window is set")]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": 8, \"layer_types\": [\"sliding_attention\"]", "qwen2", "must list 2 entries")]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": 8, \"layer_types\": [\"chunked_attention\", \"full_attention\"]", "qwen2", "not supported")]
    [InlineData("\"sliding_window\": 8, \"layer_types\": [\"full_attention\", \"sliding_attention\"]", "mistral", "one attention kind")]
    public void Unusable_layer_types_name_the_field_and_the_fix(string extra, string modelType, string expected)
    {
        var e = FailsWith(extra, modelType);
        Assert.Contains("'layer_types'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Missing_folder_or_config_json_is_a_config_error()
    {
        Assert.Contains("does not exist", Assert.Throws<ConfigException>(
            () => ModelConfigLoader.LoadFromDirectory("/nonexistent/model")).Message);
        var empty = Directory.CreateTempSubdirectory("lc-cfg-").FullName;
        try
        {
            Assert.Contains("config.json", Assert.Throws<ConfigException>(() => ModelConfigLoader.LoadFromDirectory(empty)).Message);
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }
}
