using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LongContext.Formats.Config;

/// <summary>
/// Writes a <see cref="ModelConfig"/> as a config.json that transformers loads (architectures, model_type, every
/// field, keys sorted like transformers' own `to_json_string`). RoPE goes in transformers-4 form (`rope_theta` +
/// `rope_scaling`) by default, which both transformers 4 and 5 read, or in transformers-5 form (`rope_parameters`).
/// </summary>
public static class ModelConfigWriter
{
    public static string ToJson(ModelConfig config, bool v5Form = false)
    {
        var fields = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal);
        void Int(string key, int value) => fields[key] = w => w.WriteNumberValue(value);
        void Float(string key, double value) => fields[key] = w => w.WriteRawValue(FormatFloat(value));
        void Bool(string key, bool value) => fields[key] = w => w.WriteBooleanValue(value);
        void Str(string key, string value) => fields[key] = w => w.WriteStringValue(value);
        void Null(string key) => fields[key] = w => w.WriteNullValue();

        var architecture = ConfigKeys.SupportedModelTypes.Contains(config.ModelType)
            ? ConfigKeys.ArchitectureOf(config.ModelType)
            : throw new ConfigException($"Cannot write config.json: model_type \"{config.ModelType}\" is not supported; "
                + $"supported: {string.Join(", ", ConfigKeys.SupportedModelTypes)}.");
        fields["architectures"] = w => { w.WriteStartArray(); w.WriteStringValue(architecture); w.WriteEndArray(); };
        Str("model_type", config.ModelType);
        Int("vocab_size", config.VocabSize);
        Int("hidden_size", config.HiddenSize);
        Int("intermediate_size", config.IntermediateSize);
        Int("num_hidden_layers", config.NumHiddenLayers);
        Int("num_attention_heads", config.NumAttentionHeads);
        Int("num_key_value_heads", config.NumKeyValueHeads);
        Int("head_dim", config.HeadDim);
        Str("hidden_act", config.HiddenAct);
        Int("max_position_embeddings", config.MaxPositionEmbeddings);
        Float("rms_norm_eps", config.RmsNormEps);
        Bool("tie_word_embeddings", config.TieWordEmbeddings);
        Float("initializer_range", 0.02);
        Float("attention_dropout", 0.0);
        Bool("use_cache", true);
        if (config.BosTokenId is { } bos) Int("bos_token_id", bos); else Null("bos_token_id");
        if (config.PadTokenId is { } pad) Int("pad_token_id", pad); else Null("pad_token_id");
        switch (config.EosTokenIds.Count)
        {
            case 0: Null("eos_token_id"); break;
            case 1: Int("eos_token_id", config.EosTokenIds[0]); break;
            default:
                var ids = config.EosTokenIds.ToArray();
                fields["eos_token_id"] = w => { w.WriteStartArray(); foreach (var id in ids) w.WriteNumberValue(id); w.WriteEndArray(); };
                break;
        }
        if (config.TorchDtype is { } dtype)
        {
            Str(v5Form ? "dtype" : "torch_dtype", dtype);
        }

        switch (config.ModelType)
        {
            case "llama":
                Require(config.AttentionBias == config.OutputProjBias,
                    "llama's attention_bias covers q, k, v and o together, but this config has q/k/v bias "
                    + $"{config.AttentionBias} and o_proj bias {config.OutputProjBias}");
                Require(config.SlidingWindow is null && config.LayerTypes is null, "llama has no sliding window; use model_type mistral or qwen2");
                Bool("attention_bias", config.AttentionBias);
                Bool("mlp_bias", config.MlpBias);
                Int("pretraining_tp", 1);
                break;
            case "mistral":
                Require(!config.AttentionBias && !config.OutputProjBias && !config.MlpBias, "mistral has no biases");
                Require(config.MaxWindowLayers == 0 && config.LayerTypes is null, "mistral applies sliding_window to every layer (max_window_layers 0, no layer_types)");
                if (config.SlidingWindow is { } window) Int("sliding_window", window); else Null("sliding_window");
                break;
            case "qwen2":
                Require(config.AttentionBias && !config.OutputProjBias && !config.MlpBias,
                    "qwen2 has bias on q/k/v only (AttentionBias true, OutputProjBias and MlpBias false)");
                Bool("use_sliding_window", config.SlidingWindow is not null);
                if (config.SlidingWindow is { } qwenWindow) Int("sliding_window", qwenWindow); else Null("sliding_window");
                Int("max_window_layers", config.MaxWindowLayers);
                if (config.LayerTypes is { } types)
                {
                    Require(types.Count == config.NumHiddenLayers, "layer_types needs one entry per layer");
                    var list = types.ToArray();
                    fields["layer_types"] = w => { w.WriteStartArray(); foreach (var t in list) w.WriteStringValue(t); w.WriteEndArray(); };
                }
                break;
        }

        var rope = config.Rope;
        if (v5Form)
        {
            fields["rope_parameters"] = w => WriteRopeDict(w, rope, includeThetaAndPartial: true);
        }
        else
        {
            Float("rope_theta", rope.RopeTheta);
            if (rope.PartialRotaryFactor != 1.0)
            {
                Float("partial_rotary_factor", rope.PartialRotaryFactor);
            }
            if (rope.RopeType == "default")
            {
                Null("rope_scaling");
            }
            else
            {
                fields["rope_scaling"] = w => WriteRopeDict(w, rope, includeThetaAndPartial: false);
            }
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach (var (key, write) in fields)
            {
                writer.WritePropertyName(key);
                write(writer);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";

        void Require(bool condition, string problem)
        {
            if (!condition)
            {
                throw new ConfigException($"Cannot write config.json for model_type {config.ModelType}: {problem}.");
            }
        }
    }

    /// <summary>Writes <paramref name="modelDir"/>/config.json atomically (config.json.tmp, then rename).</summary>
    public static void WriteToDirectory(ModelConfig config, string modelDir, bool v5Form = false)
    {
        var json = ToJson(config, v5Form);
        Directory.CreateDirectory(modelDir);
        var path = Path.Combine(modelDir, ModelConfigLoader.ConfigFileName);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, json, new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }

    private static void WriteRopeDict(Utf8JsonWriter w, RopeParameters rope, bool includeThetaAndPartial)
    {
        var fields = new SortedDictionary<string, Action>(StringComparer.Ordinal);
        void Float(string key, double? value)
        {
            if (value is { } v) fields[key] = () => w.WriteRawValue(FormatFloat(v));
        }
        fields["rope_type"] = () => w.WriteStringValue(rope.RopeType);
        if (includeThetaAndPartial)
        {
            Float("rope_theta", rope.RopeTheta);
            if (rope.PartialRotaryFactor != 1.0) Float("partial_rotary_factor", rope.PartialRotaryFactor);
        }
        Float("factor", rope.Factor);
        if (rope.OriginalMaxPositionEmbeddings is { } omp) fields["original_max_position_embeddings"] = () => w.WriteNumberValue(omp);
        Float("low_freq_factor", rope.LowFreqFactor);
        Float("high_freq_factor", rope.HighFreqFactor);
        Float("beta_fast", rope.BetaFast);
        Float("beta_slow", rope.BetaSlow);
        Float("attention_factor", rope.AttentionFactor);
        Float("mscale", rope.MScale);
        Float("mscale_all_dim", rope.MScaleAllDim);
        if (rope.Truncate is { } truncate) fields["truncate"] = () => w.WriteBooleanValue(truncate);
        foreach (var (key, values) in new[] { ("short_factor", rope.ShortFactor), ("long_factor", rope.LongFactor) })
        {
            if (values is not null)
            {
                fields[key] = () => { w.WriteStartArray(); foreach (var v in values) w.WriteRawValue(FormatFloat(v)); w.WriteEndArray(); };
            }
        }
        w.WriteStartObject();
        foreach (var (key, write) in fields)
        {
            w.WritePropertyName(key);
            write();
        }
        w.WriteEndObject();
    }

    /// <summary>Python's float repr style: always a float literal ("500000.0", "1e-05"), exact round trip.</summary>
    internal static string FormatFloat(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e");
        return text.Contains('.') || text.Contains('e') ? text : text + ".0";
    }
}
