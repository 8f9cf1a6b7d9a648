// PLACEHOLDER, delete when merging: LongContext.Core.Config.ModelConfigLoader (public, written by another helper)
// replaces it. After the merge this file triggers CS0436 (type conflicts with the imported type), so the build says
// where it is. It reads only the transformers-4 llama keys that `longctx plan` needs.
using System.Text.Json;
using LongContext.Core.Rope;

namespace LongContext.Core.Config;

internal static class ModelConfigLoader
{
    public static ModelConfig LoadFromDirectory(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new ConfigException($"{path}: not found; --model must be a folder holding an HF config.json.");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        int Int(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetInt32()
            : throw new ConfigException($"{path}: `{key}` is missing or not a number.");
        int? OptInt(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
        double? OptDouble(JsonElement e, string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        bool Bool(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.True;

        var rope = new RopeParameters { RopeTheta = OptDouble(root, "rope_theta") ?? 10000.0 };
        if (root.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind == JsonValueKind.Object)
        {
            var type = scaling.TryGetProperty("rope_type", out var t) ? t.GetString() : scaling.TryGetProperty("type", out var t2) ? t2.GetString() : null;
            rope = rope with
            {
                RopeType = type ?? "default",
                Factor = OptDouble(scaling, "factor"),
                LowFreqFactor = OptDouble(scaling, "low_freq_factor"),
                HighFreqFactor = OptDouble(scaling, "high_freq_factor"),
                OriginalMaxPositionEmbeddings = (int?)OptDouble(scaling, "original_max_position_embeddings"),
            };
        }
        int heads = Int("num_attention_heads");
        bool bias = Bool("attention_bias");
        return new ModelConfig
        {
            ModelType = root.TryGetProperty("model_type", out var mt) ? mt.GetString() ?? "llama" : "llama",
            VocabSize = Int("vocab_size"),
            HiddenSize = Int("hidden_size"),
            IntermediateSize = Int("intermediate_size"),
            NumHiddenLayers = Int("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = OptInt("num_key_value_heads") ?? heads,
            HeadDim = OptInt("head_dim") ?? Int("hidden_size") / heads,
            MaxPositionEmbeddings = OptInt("max_position_embeddings") ?? 8192,
            TieWordEmbeddings = Bool("tie_word_embeddings"),
            AttentionBias = bias,
            OutputProjBias = bias,
            MlpBias = Bool("mlp_bias"),
            Rope = rope,
        };
    }
}
