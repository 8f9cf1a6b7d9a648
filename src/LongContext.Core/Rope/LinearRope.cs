using LongContext.Formats.Config;

namespace LongContext.Core.Rope;

/// <summary>
/// Position interpolation (kaiokendev; Chen et al. 2023): positions divided by `factor`, done as
/// `inv_freq /= factor` on the float32 default frequencies. HF `_compute_linear_scaling_rope_parameters`.
/// </summary>
public static class LinearRope
{
    public static RopeFrequencies Compute(RopeParameters rope, int headDim)
    {
        ArgumentNullException.ThrowIfNull(rope);
        RopeMath.RequirePositiveTheta(rope);
        var factor = (float)RopeMath.RequireFactor(rope);
        var dim = RopeMath.RotaryDim(rope, headDim);
        var inv = RopeMath.DefaultInvFreq(rope.RopeTheta, dim);
        for (var i = 0; i < inv.Length; i++)
            inv[i] /= factor;
        return new RopeFrequencies(inv, 1.0);
    }
}
