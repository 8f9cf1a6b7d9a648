
namespace LongContext.Formats.Config;

/// <summary>
/// A decoder-only Llama-family model (llama, mistral, qwen2), as read from HF `config.json`. Architecture
/// differences are flags (AttentionBias, TieWordEmbeddings, SlidingWindow), not subclasses.
/// Equality compares values (lists element-wise) and ignores <see cref="Warnings"/>.
/// </summary>
public sealed record ModelConfig
{
    public required string ModelType { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    /// <summary>HF `head_dim`; hidden_size / num_attention_heads when the config omits it.</summary>
    public required int HeadDim { get; init; }
    public double RmsNormEps { get; init; } = 1e-5;
    public int MaxPositionEmbeddings { get; init; } = 8192;
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on q/k/v projections (qwen2: true; llama: `attention_bias`).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>Bias on o_proj (llama `attention_bias` covers it; qwen2 has none).</summary>
    public bool OutputProjBias { get; init; }
    public bool MlpBias { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public RopeParameters Rope { get; init; } = new();
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>HF `torch_dtype` / `dtype` (bfloat16, float16, float32), if given.</summary>
    public string? TorchDtype { get; init; }
    /// <summary>mistral/qwen2 sliding window, when enabled; null means full attention.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>
    /// qwen2 `max_window_layers`: layers with index &gt;= this use <see cref="SlidingWindow"/>, lower ones full
    /// attention. 0 (mistral, and the default) means every layer uses the window when it is set.
    /// </summary>
    public int MaxWindowLayers { get; init; }
    /// <summary>
    /// qwen2 (transformers 5) `layer_types`, one "full_attention" or "sliding_attention" per layer, when it differs
    /// from what <see cref="MaxWindowLayers"/> implies; null otherwise. It decides which layers use the window.
    /// </summary>
    public IReadOnlyList<string>? LayerTypes { get; init; }
    /// <summary>Unknown config keys that were ignored (one line each). Not part of equality.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The sliding window that layer <paramref name="layerIndex"/> uses, or null for full attention.</summary>
    public int? SlidingWindowForLayer(int layerIndex) =>
        SlidingWindow is { } window && (LayerTypes is { } types ? types[layerIndex] == SlidingAttention : layerIndex >= MaxWindowLayers) ? window : null;

    public const string FullAttention = "full_attention", SlidingAttention = "sliding_attention";

    public bool Equals(ModelConfig? other) =>
        other is not null
        && ModelType == other.ModelType && VocabSize == other.VocabSize && HiddenSize == other.HiddenSize
        && IntermediateSize == other.IntermediateSize && NumHiddenLayers == other.NumHiddenLayers
        && NumAttentionHeads == other.NumAttentionHeads && NumKeyValueHeads == other.NumKeyValueHeads
        && HeadDim == other.HeadDim && RmsNormEps.Equals(other.RmsNormEps)
        && MaxPositionEmbeddings == other.MaxPositionEmbeddings && TieWordEmbeddings == other.TieWordEmbeddings
        && AttentionBias == other.AttentionBias && OutputProjBias == other.OutputProjBias && MlpBias == other.MlpBias
        && HiddenAct == other.HiddenAct && Rope.Equals(other.Rope) && BosTokenId == other.BosTokenId
        && EosTokenIds.SequenceEqual(other.EosTokenIds) && PadTokenId == other.PadTokenId
        && TorchDtype == other.TorchDtype && SlidingWindow == other.SlidingWindow
        && MaxWindowLayers == other.MaxWindowLayers
        && (LayerTypes is null ? other.LayerTypes is null : other.LayerTypes is not null && LayerTypes.SequenceEqual(other.LayerTypes));

    public override int GetHashCode() =>
        HashCode.Combine(ModelType, HiddenSize, NumHiddenLayers, NumAttentionHeads, NumKeyValueHeads, VocabSize, Rope);
}
