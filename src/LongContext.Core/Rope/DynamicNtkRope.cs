using LongContext.Formats.Config;

namespace LongContext.Core.Rope;

/// <summary>
/// Dynamic NTK scaling (bloc97, emozilla): when the sequence grows past `max_position_embeddings` (HF uses the
/// config's value as the original length here, not `original_max_position_embeddings`), the base becomes
/// θ · (factor·L/max_pos − (factor−1))^(d/(d−2)); at or below max_pos it is the default RoPE.
/// HF `_compute_dynamic_ntk_parameters`.
/// </summary>
public static class DynamicNtkRope
{
    /// <summary>
    /// HF called with `seq_len` as a Python int (or None): the new base is computed in double precision.
    /// </summary>
    public static RopeFrequencies Compute(RopeParameters rope, int headDim, int maxPositionEmbeddings, int? seqLen = null)
    {
        var (dim, factor) = Check(rope, headDim, maxPositionEmbeddings);
        var len = Math.Max(seqLen ?? maxPositionEmbeddings, maxPositionEmbeddings);
        var scaledBase = rope.RopeTheta *
            Math.Pow(factor * len / maxPositionEmbeddings - (factor - 1), dim / (double)(dim - 2));
        return new RopeFrequencies(RopeMath.DefaultInvFreq(scaledBase, dim), 1.0);
    }

    /// <summary>
    /// HF's `dynamic_rope_update` path: there `seq_len = max(position_ids) + 1` is an int64 tensor, so
    /// `factor * seq_len / max_pos - (factor - 1)`, its power and the product with the base are float32 tensor ops.
    /// </summary>
    internal static RopeFrequencies ComputeForTensorSeqLen(RopeParameters rope, int headDim, int maxPositionEmbeddings, long seqLen)
    {
        var (dim, factor) = Check(rope, headDim, maxPositionEmbeddings);
        var len = (float)Math.Max(seqLen, maxPositionEmbeddings);                    // torch.maximum(seq_len, max_pos), int64
        var ratio = len * (float)factor / (float)maxPositionEmbeddings - (float)(factor - 1); // float32 tensor ops
        // tensor ** python float: libtorch keeps the exponent in double here (float base, double exponent)
        var scaled = (float)Math.Pow(ratio, dim / (double)(dim - 2));
        var scaledBase = (float)rope.RopeTheta * scaled;                               // python float * tensor
        return new RopeFrequencies(RopeMath.DefaultInvFreq(scaledBase, dim), 1.0);
    }

    private static (int Dim, double Factor) Check(RopeParameters rope, int headDim, int maxPositionEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(rope);
        RopeMath.RequirePositiveTheta(rope);
        var factor = RopeMath.RequireFactor(rope);
        var dim = RopeMath.RotaryDim(rope, headDim);
        if (dim <= 2)
            throw new ConfigException($"rope_type 'dynamic' needs a rotary dimension above 2 (its exponent is d/(d-2)), got {dim}.");
        if (maxPositionEmbeddings <= 0)
            throw new ConfigException($"max_position_embeddings must be positive for rope_type 'dynamic', got {maxPositionEmbeddings}.");
        return (dim, factor);
    }
}
