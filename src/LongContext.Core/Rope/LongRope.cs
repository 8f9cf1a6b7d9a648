using LongContext.Formats.Config;

namespace LongContext.Core.Rope;

/// <summary>
/// LongRoPE (Ding et al. 2024; Phi-3): per-dimension rescale factors, `short_factor` up to
/// `original_max_position_embeddings` and `long_factor` beyond it; inv_freq_i = 1/(ext_i · θ^(2i/d)). The attention
/// factor defaults to sqrt(1 + ln(factor)/ln(original_max)), with factor = max_pos/original_max when not given.
/// HF `_compute_longrope_parameters`.
/// </summary>
public static class LongRope
{
    public static RopeFrequencies Compute(RopeParameters rope, int headDim, int maxPositionEmbeddings, int? seqLen = null)
    {
        ArgumentNullException.ThrowIfNull(rope);
        RopeMath.RequirePositiveTheta(rope);
        var dim = RopeMath.RotaryDim(rope, headDim);
        var shortFactor = rope.ShortFactor ?? throw Missing("short_factor", dim);
        var longFactor = rope.LongFactor ?? throw Missing("long_factor", dim);
        if (shortFactor.Length != dim / 2)
            throw WrongLength("short_factor", shortFactor.Length, dim);
        if (longFactor.Length != dim / 2)
            throw WrongLength("long_factor", longFactor.Length, dim);
        var originalMax = RopeMath.OriginalMaxPositions(rope, maxPositionEmbeddings);

        var attentionFactor = rope.AttentionFactor ?? DefaultAttentionFactor(
            rope.Factor ?? (double)maxPositionEmbeddings / originalMax, originalMax);

        var ext = UsesLongFactor(seqLen, originalMax) ? longFactor : shortFactor;
        var pow = RopeMath.PowBase(rope.RopeTheta, RopeMath.Exponents(dim));
        var inv = new float[pow.Length];
        for (var i = 0; i < inv.Length; i++)
            inv[i] = 1f / ((float)ext[i] * pow[i]);
        return new RopeFrequencies(inv, attentionFactor);
    }

    /// <summary>HF: `if seq_len and seq_len > original_max_position_embeddings` (0 and None mean short).</summary>
    public static bool UsesLongFactor(long? seqLen, int originalMaxPositionEmbeddings) =>
        seqLen is { } s && s != 0 && s > originalMaxPositionEmbeddings;

    /// <summary>1 for factor ≤ 1, else sqrt(1 + ln(factor) / ln(original_max_position_embeddings)).</summary>
    public static double DefaultAttentionFactor(double factor, int originalMaxPositionEmbeddings) =>
        factor <= 1.0 ? 1.0 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(originalMaxPositionEmbeddings));

    private static ConfigException Missing(string key, int dim) =>
        new($"rope_parameters.{key} is required for rope_type 'longrope': a list of {dim / 2} numbers (rotary dim / 2).");

    private static ConfigException WrongLength(string key, int got, int dim) =>
        new($"rope_parameters.{key} has {got} entries; rope_type 'longrope' needs rotary dim / 2 = {dim / 2}.");
}
