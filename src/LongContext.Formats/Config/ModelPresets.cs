
namespace LongContext.Formats.Config;

/// <summary>
/// Built-in architecture presets (numbers only, no weights), so `longctx plan --preset NAME` works without a
/// download. Each preset names the HF repo whose `config.json` its numbers come from. Lookup is case-insensitive.
/// </summary>
public static class ModelPresets
{
    // meta-llama/Meta-Llama-3-8B (config.json): 8,030,261,248 parameters.
    private static readonly ModelConfig Llama3_8B = new()
    {
        ModelType = "llama",
        VocabSize = 128256,
        HiddenSize = 4096,
        IntermediateSize = 14336,
        NumHiddenLayers = 32,
        NumAttentionHeads = 32,
        NumKeyValueHeads = 8,
        HeadDim = 128,
        RmsNormEps = 1e-5,
        MaxPositionEmbeddings = 8192,
        Rope = new RopeParameters { RopeType = "default", RopeTheta = 500000.0 },
        BosTokenId = 128000,
        EosTokenIds = [128001],
        TorchDtype = "bfloat16",
    };

    // meta-llama/Meta-Llama-3-70B (config.json): 70,553,706,496 parameters.
    private static readonly ModelConfig Llama3_70B = Llama3_8B with
    {
        HiddenSize = 8192,
        IntermediateSize = 28672,
        NumHiddenLayers = 80,
        NumAttentionHeads = 64,
    };

    // Llama-3.1 keeps the Llama-3 shapes and adds `rope_scaling` {rope_type llama3, factor 8, low_freq_factor 1,
    // high_freq_factor 4, original_max_position_embeddings 8192} with max_position_embeddings 131072.
    private static readonly RopeParameters Llama31Rope = new()
    {
        RopeType = "llama3",
        RopeTheta = 500000.0,
        Factor = 8.0,
        LowFreqFactor = 1.0,
        HighFreqFactor = 4.0,
        OriginalMaxPositionEmbeddings = 8192,
    };

    // meta-llama/Llama-3.1-8B (config.json).
    private static readonly ModelConfig Llama31_8B = Llama3_8B with { MaxPositionEmbeddings = 131072, Rope = Llama31Rope };

    // meta-llama/Llama-3.1-70B (config.json).
    private static readonly ModelConfig Llama31_70B = Llama3_70B with { MaxPositionEmbeddings = 131072, Rope = Llama31Rope };

    // meta-llama/Llama-3.2-1B (config.json): tied embeddings, rope llama3 factor 32; 1,235,814,400 parameters.
    private static readonly ModelConfig Llama32_1B = Llama3_8B with
    {
        HiddenSize = 2048,
        IntermediateSize = 8192,
        NumHiddenLayers = 16,
        NumAttentionHeads = 32,
        NumKeyValueHeads = 8,
        HeadDim = 64,
        TieWordEmbeddings = true,
        MaxPositionEmbeddings = 131072,
        Rope = Llama31Rope with { Factor = 32.0 },
    };

    // meta-llama/Llama-3.2-3B (config.json): tied embeddings, rope llama3 factor 32; 3,212,749,824 parameters.
    private static readonly ModelConfig Llama32_3B = Llama32_1B with
    {
        HiddenSize = 3072,
        IntermediateSize = 8192,
        NumHiddenLayers = 28,
        NumAttentionHeads = 24,
        NumKeyValueHeads = 8,
        HeadDim = 128,
    };

    // Debug preset for tests and CPU demos (not an HF model): a 2-layer Llama with GQA.
    private static readonly ModelConfig Tiny = new()
    {
        ModelType = "llama",
        VocabSize = 256,
        HiddenSize = 64,
        IntermediateSize = 128,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 16,
        RmsNormEps = 1e-5,
        MaxPositionEmbeddings = 256,
        Rope = new RopeParameters { RopeType = "default", RopeTheta = 10000.0 },
        TorchDtype = "float32",
    };

    // Debug preset (not an HF model): `tiny` with qwen2-style q/k/v biases and tied embeddings.
    private static readonly ModelConfig TinyQwen2 = Tiny with
    {
        ModelType = "qwen2",
        AttentionBias = true,
        TieWordEmbeddings = true,
        RmsNormEps = 1e-6,
    };

    private static readonly (string Name, ModelConfig Config)[] All =
    [
        ("llama-3-8b", Llama3_8B),
        ("llama-3-70b", Llama3_70B),
        ("llama-3.1-8b", Llama31_8B),
        ("llama-3.1-70b", Llama31_70B),
        ("llama-3.2-1b", Llama32_1B),
        ("llama-3.2-3b", Llama32_3B),
        ("tiny", Tiny),
        ("tiny-qwen2", TinyQwen2),
    ];

    /// <summary>Preset names, in a stable order (real models first, then debug presets).</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(p => p.Name).ToArray();

    /// <summary>True when <paramref name="name"/> names a preset (case-insensitive).</summary>
    public static bool Contains(string name) => All.Any(p => string.Equals(p.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The preset called <paramref name="name"/> (case-insensitive); ConfigException listing the names otherwise.</summary>
    public static ModelConfig Get(string name)
    {
        foreach (var (presetName, config) in All)
        {
            if (string.Equals(presetName, name.Trim(), StringComparison.OrdinalIgnoreCase)) return config;
        }
        throw new ConfigException($"Unknown model preset '{name}'. Known presets: {string.Join(", ", Names)}.");
    }
}
