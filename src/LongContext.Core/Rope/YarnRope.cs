using LongContext.Formats.Config;

namespace LongContext.Core.Rope;

/// <summary>
/// YaRN (Peng et al. 2023, arXiv 2309.00071): per-dimension blend of interpolated (θ_i/factor) and original
/// frequencies. Dimensions that turn fewer than `beta_slow` times over `original_max_position_embeddings` are
/// interpolated, those turning more than `beta_fast` times are kept, a linear ramp joins them; cos/sin are scaled by
/// the attention factor (default 0.1·ln(factor)+1, or DeepSeek's mscale ratio). HF `_compute_yarn_parameters`
/// (transformers ≥ 4.56: an explicit `factor` wins; only a missing one becomes max_pos / original_max_pos).
/// </summary>
public static class YarnRope
{
    public static RopeFrequencies Compute(RopeParameters rope, int headDim, int maxPositionEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(rope);
        RopeMath.RequirePositiveTheta(rope);
        var dim = RopeMath.RotaryDim(rope, headDim);
        var originalMax = RopeMath.OriginalMaxPositions(rope, maxPositionEmbeddings);
        var factor = rope.Factor ?? (double)maxPositionEmbeddings / originalMax;
        if (!(factor > 0))
            throw new ConfigException($"rope_parameters.factor must be positive for rope_type 'yarn', got {factor}.");

        var attentionFactor = rope.AttentionFactor ?? DefaultAttentionFactor(factor, rope.MScale, rope.MScaleAllDim);

        // `get("beta_fast") or 32`: a missing or zero value takes the paper's default.
        var betaFast = rope.BetaFast is { } bf && bf != 0 ? bf : 32.0;
        var betaSlow = rope.BetaSlow is { } bs && bs != 0 ? bs : 1.0;

        var posFreqs = RopeMath.PowBase(rope.RopeTheta, RopeMath.Exponents(dim));
        var extrapolation = RopeMath.Reciprocal(posFreqs);
        var f32Factor = (float)factor;
        var interpolation = new float[posFreqs.Length];
        for (var i = 0; i < posFreqs.Length; i++)
            interpolation[i] = 1f / (f32Factor * posFreqs[i]);

        var (low, high) = FindCorrectionRange(betaFast, betaSlow, dim, rope.RopeTheta, originalMax, rope.Truncate ?? true);
        var ramp = LinearRampFactor(low, high, dim / 2);

        var inv = new float[posFreqs.Length];
        for (var i = 0; i < inv.Length; i++)
        {
            var extrapolationFactor = 1f - ramp[i];
            inv[i] = interpolation[i] * (1f - extrapolationFactor) + extrapolation[i] * extrapolationFactor;
        }
        return new RopeFrequencies(inv, attentionFactor);
    }

    /// <summary>YaRN's `get_mscale`: 1 for scale ≤ 1, else 0.1·mscale·ln(scale) + 1.</summary>
    public static double GetMScale(double scale, double mscale = 1)
    {
        if (scale <= 1)
            return 1.0;
        return 0.1 * mscale * Math.Log(scale) + 1.0;
    }

    /// <summary>
    /// Attention factor when the config gives none: get_mscale(factor, mscale)/get_mscale(factor, mscale_all_dim)
    /// when both are given and non-zero (DeepSeek), else get_mscale(factor) = 0.1·ln(factor) + 1.
    /// </summary>
    public static double DefaultAttentionFactor(double factor, double? mscale = null, double? mscaleAllDim = null)
    {
        if (mscale is { } m && m != 0 && mscaleAllDim is { } ma && ma != 0)
            return GetMScale(factor, m) / GetMScale(factor, ma);
        return GetMScale(factor);
    }

    /// <summary>The (fractional) dimension index whose wavelength fits `numRotations` times into `maxPositions`.</summary>
    public static double FindCorrectionDim(double numRotations, int dim, double theta, int maxPositions) =>
        dim * Math.Log(maxPositions / (numRotations * 2 * Math.PI)) / (2 * Math.Log(theta));

    /// <summary>
    /// Ramp bounds [low, high] in pair-index units: floor/ceil when truncating, clipped to [0, dim−1].
    /// </summary>
    public static (double Low, double High) FindCorrectionRange(
        double lowRotations, double highRotations, int dim, double theta, int maxPositions, bool truncate)
    {
        var low = FindCorrectionDim(lowRotations, dim, theta, maxPositions);
        var high = FindCorrectionDim(highRotations, dim, theta, maxPositions);
        if (truncate)
        {
            low = Math.Floor(low);
            high = Math.Ceiling(high);
        }
        return (Math.Max(low, 0), Math.Min(high, dim - 1));
    }

    /// <summary>`clamp((arange(n, float32) − min) / (max − min), 0, 1)`, with max nudged by 0.001 when min == max.</summary>
    public static float[] LinearRampFactor(double min, double max, int n)
    {
        if (min == max)
            max += 0.001;
        var fMin = (float)min;
        var fSpan = (float)(max - min);
        var ramp = new float[n];
        for (var i = 0; i < n; i++)
            ramp[i] = Math.Clamp(((float)i - fMin) / fSpan, 0f, 1f);
        return ramp;
    }
}
