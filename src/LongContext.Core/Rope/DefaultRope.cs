namespace LongContext.Core.Rope;

/// <summary>
/// Original RoPE (Su et al.): inv_freq_i = 1 / θ^(2i/d), i = 0 … d/2−1, no attention scaling. HF
/// `compute_default_rope_parameters`.
/// </summary>
public static class DefaultRope
{
    public static RopeFrequencies Compute(RopeParameters rope, int headDim)
    {
        ArgumentNullException.ThrowIfNull(rope);
        RopeMath.RequirePositiveTheta(rope);
        var dim = RopeMath.RotaryDim(rope, headDim);
        return new RopeFrequencies(RopeMath.DefaultInvFreq(rope.RopeTheta, dim), 1.0);
    }
}
