using LongContext.Formats.Config;

namespace LongContext.Core.Rope;

/// <summary>
/// Original RoPE (Su et al.): inv_freq_i = 1 / θ^(2i/d), i = 0 … d/2−1, no attention scaling. HF
/// `compute_default_rope_parameters` of the Llama family (LlamaRotaryEmbedding), which rotates the whole head:
/// transformers 5.17 ignores `partial_rotary_factor` here (recorded in tests/fixtures/hf/rope_reference.json,
/// entry default_partial0.5_hd128), while yarn and longrope apply it.
/// </summary>
public static class DefaultRope
{
    public static RopeFrequencies Compute(RopeParameters rope, int headDim)
    {
        ArgumentNullException.ThrowIfNull(rope);
        RopeMath.RequirePositiveTheta(rope);
        RopeMath.RotaryDim(rope, headDim); // validates the factor even though the default method rotates all of head_dim
        var dim = headDim;
        return new RopeFrequencies(RopeMath.DefaultInvFreq(rope.RopeTheta, dim), 1.0);
    }
}
