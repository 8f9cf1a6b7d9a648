using System.Text.Json;

namespace LongContext.Formats.Config;

/// <summary>
/// Reads HF `config.json` (transformers 4 or 5 form) of a llama, mistral or qwen2 model into <see cref="ModelConfig"/>.
/// Missing optional fields take transformers' defaults for that model_type. Keys that would change the math but are
/// unsupported throw <see cref="ConfigException"/>; other unknown keys are ignored and listed in
/// <see cref="ModelConfig.Warnings"/>.
/// </summary>
public static class ModelConfigLoader
{
    public const string ConfigFileName = "config.json";
    public const string GenerationConfigFileName = "generation_config.json";

    public static IReadOnlyList<string> SupportedModelTypes => ConfigKeys.SupportedModelTypes;

    /// <summary>
    /// Reads <paramref name="modelDir"/>/config.json, and the eos ids of generation_config.json when present
    /// (they come first in <see cref="ModelConfig.EosTokenIds"/>, followed by config.json's others).
    /// </summary>
    public static ModelConfig LoadFromDirectory(string modelDir)
    {
        if (!Directory.Exists(modelDir))
        {
            throw new ConfigException($"Model folder '{modelDir}' does not exist; pass a folder holding config.json.");
        }
        var path = Path.Combine(modelDir, ConfigFileName);
        if (!File.Exists(path))
        {
            throw new ConfigException($"{path} not found: a Hugging Face model folder needs config.json beside its weights.");
        }
        var config = Parse(File.ReadAllText(path), path);

        var generationPath = Path.Combine(modelDir, GenerationConfigFileName);
        if (File.Exists(generationPath))
        {
            var fields = ParseObject(File.ReadAllText(generationPath), generationPath);
            if (fields.OptIntOrIntList("eos_token_id") is { } generationEos)
            {
                config = config with { EosTokenIds = [.. generationEos.Concat(config.EosTokenIds).Distinct()] };
            }
            if (config.BosTokenId is null && fields.OptInt("bos_token_id") is { } bos)
            {
                config = config with { BosTokenId = bos };
            }
        }
        return config;
    }

    /// <summary>Parses config.json text; <paramref name="sourceName"/> (usually the path) prefixes every message.</summary>
    public static ModelConfig Parse(string json, string sourceName)
    {
        var top = ParseObject(json, sourceName);
        var warnings = new List<string>();
        var consumed = new HashSet<string>(RopeConfigReader.TopLevelKeys);

        var modelType = top.OptString("model_type")
            ?? throw top.FieldError("model_type", $"is required but missing; supported: {string.Join(", ", SupportedModelTypes)}");
        if (!ConfigKeys.ByModelType.TryGetValue(modelType, out var typeKeys))
        {
            throw top.FieldError("model_type",
                $"is \"{modelType}\", which is not supported; supported: {string.Join(", ", SupportedModelTypes)}");
        }
        consumed.UnionWith(ConfigKeys.Common);
        consumed.UnionWith(typeKeys);

        var hiddenSize = Positive(top, "hidden_size", top.ReqInt("hidden_size"));
        var heads = Positive(top, "num_attention_heads", top.ReqInt("num_attention_heads"));
        var kvHeads = Positive(top, "num_key_value_heads", top.OptInt("num_key_value_heads") ?? heads);
        if (hiddenSize % heads != 0)
        {
            throw top.FieldError("num_attention_heads", $"({heads}) must divide hidden_size ({hiddenSize})");
        }
        if (heads % kvHeads != 0)
        {
            throw top.FieldError("num_key_value_heads", $"({kvHeads}) must divide num_attention_heads ({heads})");
        }
        var headDim = Positive(top, "head_dim", top.OptInt("head_dim") ?? hiddenSize / heads);
        if (headDim % 2 != 0)
        {
            throw top.FieldError("head_dim", $"must be even for RoPE, got {headDim}");
        }
        var layers = Positive(top, "num_hidden_layers", top.ReqInt("num_hidden_layers"));
        var vocab = Positive(top, "vocab_size", top.ReqInt("vocab_size"));
        var maxPositions = Positive(top, "max_position_embeddings",
            top.OptInt("max_position_embeddings") ?? DefaultMaxPositions(modelType));
        var eps = top.OptDouble("rms_norm_eps") ?? 1e-6;
        if (eps <= 0)
        {
            throw top.FieldError("rms_norm_eps", $"must be positive, got {RopeConfigReader.Fmt(eps)}");
        }
        var act = top.OptString("hidden_act") ?? "silu";
        if (!ConfigKeys.SupportedActivations.Contains(act))
        {
            throw top.FieldError("hidden_act", $"is \"{act}\", which is not supported; supported: silu (SwiGLU MLP)");
        }

        var rope = RopeConfigReader.Read(top, maxPositions, headDim, warnings, consumed);

        var config = new ModelConfig
        {
            ModelType = modelType,
            VocabSize = vocab,
            HiddenSize = hiddenSize,
            IntermediateSize = Positive(top, "intermediate_size", top.ReqInt("intermediate_size")),
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            RmsNormEps = eps,
            MaxPositionEmbeddings = maxPositions,
            TieWordEmbeddings = top.OptBool("tie_word_embeddings") ?? false,
            HiddenAct = act,
            Rope = rope,
            BosTokenId = TokenId(top, "bos_token_id", vocab, warnings),
            EosTokenIds = top.OptIntOrIntList("eos_token_id") ?? [],
            PadTokenId = TokenId(top, "pad_token_id", vocab, warnings),
            TorchDtype = ReadDtype(top, warnings),
        };
        foreach (var eos in config.EosTokenIds)
        {
            CheckTokenId(top, "eos_token_id", eos, vocab, warnings);
        }
        config = modelType switch
        {
            "llama" => ReadLlama(top, config),
            "mistral" => ReadMistral(top, config),
            "qwen2" => ReadQwen2(top, config),
            _ => throw new InvalidOperationException(modelType),
        };
        config = ReadLayerTypes(top, config);

        foreach (var key in top.Keys)
        {
            if (consumed.Contains(key) || ConfigKeys.Ignorable.Contains(key))
            {
                continue;
            }
            if (ConfigKeys.UnsupportedMath.Contains(key))
            {
                if (!IsInert(top.Raw(key)))
                {
                    throw top.FieldError(key, $"is set ({JsonFields.Describe(top.Raw(key)!.Value)}), but it changes the model's "
                        + $"math and is not supported for llama-family models; this checkpoint needs another engine");
                }
                continue;
            }
            warnings.Add($"{sourceName}: unknown key '{key}' ignored.");
        }
        if (top.OptDouble("attention_dropout") is { } dropout && dropout != 0)
        {
            warnings.Add($"{sourceName}: attention_dropout {RopeConfigReader.Fmt(dropout)} ignored (no attention dropout).");
        }
        return config with { Warnings = warnings };
    }

    private static JsonFields ParseObject(string json, string sourceName)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            // JsonFields keeps JsonElements: clone so they outlive the document.
            return new JsonFields(document.RootElement.Clone(), sourceName, "");
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{sourceName}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): "
                + $"{e.Message.Split(" Path:")[0]} Re-download or fix the file.");
        }
    }

    private static ModelConfig ReadLlama(JsonFields top, ModelConfig config)
    {
        var tp = top.OptInt("pretraining_tp") ?? 1;
        if (tp != 1)
        {
            throw top.FieldError("pretraining_tp", $"is {tp}; only 1 is supported (set it to 1: it only changes how "
                + "transformers splits matmuls, the weights are the same)");
        }
        var attentionBias = top.OptBool("attention_bias") ?? false;
        return config with
        {
            AttentionBias = attentionBias,
            OutputProjBias = attentionBias,
            MlpBias = top.OptBool("mlp_bias") ?? false,
        };
    }

    private static ModelConfig ReadMistral(JsonFields top, ModelConfig config)
    {
        // transformers' MistralConfig defaults sliding_window to 4096 when the key is absent; null disables it.
        var window = top.Has("sliding_window") ? top.OptInt("sliding_window") : 4096;
        return config with { SlidingWindow = window is null ? null : Positive(top, "sliding_window", window.Value) };
    }

    private static ModelConfig ReadQwen2(JsonFields top, ModelConfig config)
    {
        var useWindow = top.OptBool("use_sliding_window") ?? false;
        var maxWindowLayers = top.OptInt("max_window_layers") ?? 28;
        if (maxWindowLayers < 0)
        {
            throw top.FieldError("max_window_layers", $"must be >= 0, got {maxWindowLayers}");
        }
        int? window = null;
        if (useWindow)
        {
            window = Positive(top, "sliding_window", top.OptInt("sliding_window")
                ?? throw top.FieldError("sliding_window", "must be set when use_sliding_window is true"));
        }
        else if (top.OptInt("sliding_window") is { } unused && unused <= 0)
        {
            throw top.FieldError("sliding_window", $"must be positive, got {unused}");
        }
        return config with
        {
            AttentionBias = true,
            OutputProjBias = false,
            MlpBias = false,
            SlidingWindow = window,
            MaxWindowLayers = maxWindowLayers,
        };
    }

    /// <summary>
    /// transformers-5 `layer_types`. qwen2 takes any per-layer pattern (it overrides max_window_layers, as in
    /// transformers); llama and mistral have one attention kind for all layers, so theirs must match it.
    /// </summary>
    private static ModelConfig ReadLayerTypes(JsonFields top, ModelConfig config)
    {
        if (top.Raw("layer_types") is not { } raw || raw.ValueKind == JsonValueKind.Null)
        {
            return config;
        }
        var n = config.NumHiddenLayers;
        var expected = Enumerable.Range(0, n)
            .Select(i => config.SlidingWindowForLayer(i) is null ? ModelConfig.FullAttention : ModelConfig.SlidingAttention).ToList();
        var given = raw.ValueKind == JsonValueKind.Array
            ? raw.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : null).ToList()
            : null;
        if (given is null || given.Count != n || given.Any(t => t is not (ModelConfig.FullAttention or ModelConfig.SlidingAttention)))
        {
            throw top.FieldError("layer_types", $"must list {n} entries (num_hidden_layers), each \"{ModelConfig.FullAttention}\" or "
                + $"\"{ModelConfig.SlidingAttention}\"; other attention kinds are not supported");
        }
        if (given.SequenceEqual(expected))
        {
            return config;
        }
        if (config.ModelType != "qwen2")
        {
            throw top.FieldError("layer_types", $"does not match sliding_window (expected {string.Join(", ", expected)}); "
                + $"{config.ModelType} uses one attention kind for every layer");
        }
        if (config.SlidingWindow is null)
        {
            throw top.FieldError("layer_types", "names sliding_attention layers but no window is set "
                + "(use_sliding_window is false or sliding_window is null); set both, or make every layer full_attention");
        }
        return config with { LayerTypes = given.Select(t => t!).ToList() };
    }

    private static string? ReadDtype(JsonFields top, List<string> warnings)
    {
        var v4 = top.OptString("torch_dtype");
        var v5 = top.OptString("dtype");
        var dtype = v5 ?? v4;
        if (dtype is null)
        {
            return null;
        }
        if (!ConfigKeys.KnownDtypes.Contains(dtype))
        {
            warnings.Add($"{top.SourceName}: dtype \"{dtype}\" not recognised; ignored.");
            return null;
        }
        return dtype;
    }

    private static int? TokenId(JsonFields top, string key, int vocab, List<string> warnings)
    {
        var id = top.OptInt(key);
        if (id is { } value)
        {
            CheckTokenId(top, key, value, vocab, warnings);
        }
        return id;
    }

    private static void CheckTokenId(JsonFields top, string key, int id, int vocab, List<string> warnings)
    {
        if (id < 0)
        {
            throw top.FieldError(key, $"must be >= 0, got {id}");
        }
        if (id >= vocab)
        {
            warnings.Add($"{top.SourceName}: {key} {id} is outside vocab_size {vocab}.");
        }
    }

    private static int Positive(JsonFields top, string key, int value) =>
        value > 0 ? value : throw top.FieldError(key, $"must be positive, got {value}");

    private static int DefaultMaxPositions(string modelType) => modelType switch
    {
        "mistral" => 4096 * 32,
        "qwen2" => 32768,
        _ => 2048,
    };

    private static bool IsInert(JsonElement? value) => value switch
    {
        null => true,
        { ValueKind: JsonValueKind.False } => true,
        { ValueKind: JsonValueKind.Number } v => v.TryGetDouble(out var d) && d == 0,
        { ValueKind: JsonValueKind.Array } v => v.GetArrayLength() == 0,
        { ValueKind: JsonValueKind.Object } v => !v.EnumerateObject().Any(),
        _ => false,
    };
}
