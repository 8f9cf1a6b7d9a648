namespace LongContext.Formats.Config;

/// <summary>
/// The RoPE settings of a model, normalised from either config form: transformers-4 (`rope_theta` + `rope_scaling`
/// with `type` or `rope_type`) or transformers-5 (`rope_parameters`). Field names follow HF's keys.
/// Values are those the config gives; for llama3/yarn/longrope <see cref="OriginalMaxPositionEmbeddings"/> is
/// filled from `max_position_embeddings` when absent (as transformers 5 does). Equality compares arrays element-wise.
/// </summary>
public sealed record RopeParameters
{
    /// <summary>default | linear | dynamic | yarn | llama3 | longrope</summary>
    public string RopeType { get; init; } = "default";
    public double RopeTheta { get; init; } = 10000.0;
    public double? Factor { get; init; }
    public int? OriginalMaxPositionEmbeddings { get; init; }
    // llama3
    public double? LowFreqFactor { get; init; }
    public double? HighFreqFactor { get; init; }
    // yarn
    public double? BetaFast { get; init; }
    public double? BetaSlow { get; init; }
    public double? AttentionFactor { get; init; }
    public double? MScale { get; init; }
    public double? MScaleAllDim { get; init; }
    public bool? Truncate { get; init; }
    // longrope
    public double[]? ShortFactor { get; init; }
    public double[]? LongFactor { get; init; }
    /// <summary>Fraction of head_dim that is rotated (HF `partial_rotary_factor`); 1 for Llama.</summary>
    public double PartialRotaryFactor { get; init; } = 1.0;

    public static readonly IReadOnlyList<string> SupportedTypes = ["default", "linear", "dynamic", "yarn", "llama3", "longrope"];

    public bool Equals(RopeParameters? other) =>
        other is not null
        && RopeType == other.RopeType && RopeTheta.Equals(other.RopeTheta) && Nullable.Equals(Factor, other.Factor)
        && OriginalMaxPositionEmbeddings == other.OriginalMaxPositionEmbeddings
        && Nullable.Equals(LowFreqFactor, other.LowFreqFactor) && Nullable.Equals(HighFreqFactor, other.HighFreqFactor)
        && Nullable.Equals(BetaFast, other.BetaFast) && Nullable.Equals(BetaSlow, other.BetaSlow)
        && Nullable.Equals(AttentionFactor, other.AttentionFactor) && Nullable.Equals(MScale, other.MScale)
        && Nullable.Equals(MScaleAllDim, other.MScaleAllDim) && Truncate == other.Truncate
        && ArraysEqual(ShortFactor, other.ShortFactor) && ArraysEqual(LongFactor, other.LongFactor)
        && PartialRotaryFactor.Equals(other.PartialRotaryFactor);

    public override int GetHashCode() => HashCode.Combine(RopeType, RopeTheta, Factor, OriginalMaxPositionEmbeddings);

    private static bool ArraysEqual(double[]? a, double[]? b) =>
        a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);
}
