using LongContext.Formats.Config;

namespace LongContext.Core.Rope;

/// <summary>
/// The float32 building blocks HF's RoPE code is made of, so each method file reads like its Python original.
/// torch rules that matter here: a Python scalar meeting a float32 tensor is first rounded to float32;
/// `scalar / tensor` is `tensor.reciprocal() * scalar` (two roundings); `scalar ** tensor` is a float32 pow.
/// </summary>
internal static class RopeMath
{
    public const double TwoPi = 2 * Math.PI;

    /// <summary>HF: `dim = int(head_dim * partial_rotary_factor)`, checked to be a positive even number.</summary>
    public static int RotaryDim(RopeParameters rope, int headDim)
    {
        if (headDim <= 0)
            throw new ConfigException($"head_dim must be positive, got {headDim} (config.json `head_dim` or hidden_size / num_attention_heads).");
        if (!(rope.PartialRotaryFactor > 0 && rope.PartialRotaryFactor <= 1))
            throw new ConfigException($"partial_rotary_factor must be in (0, 1], got {rope.PartialRotaryFactor} (config.json `partial_rotary_factor`).");
        var dim = (int)(headDim * rope.PartialRotaryFactor);
        if (dim < 2 || dim % 2 != 0)
            throw new ConfigException(
                $"the rotary dimension int(head_dim * partial_rotary_factor) = int({headDim} * {rope.PartialRotaryFactor}) = {dim} " +
                "must be an even number >= 2; fix `head_dim` or `partial_rotary_factor` in config.json.");
        return dim;
    }

    /// <summary>`torch.arange(0, dim, 2, dtype=int64).float() / dim`: exponents 2i/dim, each a float32 division.</summary>
    public static float[] Exponents(int dim)
    {
        var e = new float[dim / 2];
        for (var i = 0; i < e.Length; i++)
            e[i] = (float)(2 * i) / (float)dim;
        return e;
    }

    /// <summary>float32 pow as torch computes it (correctly rounded here; torch's kernels are within 1 ulp).</summary>
    public static float Pow(float b, float e) => (float)Math.Pow(b, e);

    /// <summary>`base ** exponents` with a Python-float base: the base is rounded to float32 first.</summary>
    public static float[] PowBase(double theta, float[] exponents)
    {
        var b = (float)theta;
        var r = new float[exponents.Length];
        for (var i = 0; i < r.Length; i++)
            r[i] = Pow(b, exponents[i]);
        return r;
    }

    /// <summary>`1.0 / t` for a float32 tensor t: torch's `reciprocal()` (then `* 1.0`, a no-op).</summary>
    public static float[] Reciprocal(float[] t)
    {
        var r = new float[t.Length];
        for (var i = 0; i < r.Length; i++)
            r[i] = 1f / t[i];
        return r;
    }

    /// <summary>HF default inverse frequencies: `1.0 / (base ** (arange(0, dim, 2).float() / dim))`.</summary>
    public static float[] DefaultInvFreq(double theta, int dim) => Reciprocal(PowBase(theta, Exponents(dim)));

    public static double RequireFactor(RopeParameters rope)
    {
        if (rope.Factor is not { } f)
            throw new ConfigException($"rope_parameters.factor is required for rope_type '{rope.RopeType}' (config.json `rope_parameters` / `rope_scaling`).");
        if (!(f > 0) || double.IsInfinity(f))
            throw new ConfigException($"rope_parameters.factor must be a positive number, got {f} (rope_type '{rope.RopeType}').");
        return f;
    }

    public static void RequirePositiveTheta(RopeParameters rope)
    {
        if (!(rope.RopeTheta > 0) || double.IsInfinity(rope.RopeTheta))
            throw new ConfigException($"rope_theta must be a positive number, got {rope.RopeTheta} (config.json `rope_theta` or `rope_parameters.rope_theta`).");
    }

    /// <summary>
    /// HF `standardize_rope_params`: for llama3/yarn/longrope a missing `original_max_position_embeddings` becomes
    /// the config's `max_position_embeddings`.
    /// </summary>
    public static int OriginalMaxPositions(RopeParameters rope, int maxPositionEmbeddings)
    {
        var orig = rope.OriginalMaxPositionEmbeddings ?? maxPositionEmbeddings;
        if (orig <= 0)
            throw new ConfigException(
                $"original_max_position_embeddings must be positive, got {orig} (rope_parameters.original_max_position_embeddings " +
                "or max_position_embeddings in config.json).");
        return orig;
    }
}
