using LongContext.Formats.Config;

namespace LongContext.Core.Rope;

/// <summary>
/// Llama 3.1 scaling: with L = original_max_position_embeddings, wavelengths shorter than L/high_freq_factor keep
/// their frequency, longer than L/low_freq_factor are divided by `factor`, and in between the two are blended with
/// smooth = (L/λ − low)/(high − low). HF `_compute_llama3_parameters` (float32 tensor arithmetic throughout).
/// </summary>
public static class Llama3Rope
{
    public static RopeFrequencies Compute(RopeParameters rope, int headDim, int maxPositionEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(rope);
        RopeMath.RequirePositiveTheta(rope);
        var dim = RopeMath.RotaryDim(rope, headDim);
        var factor = RopeMath.RequireFactor(rope);
        var low = rope.LowFreqFactor ?? throw Missing("low_freq_factor");
        var high = rope.HighFreqFactor ?? throw Missing("high_freq_factor");
        if (!(high > low) || !(low > 0))
            throw new ConfigException(
                $"rope_type 'llama3' needs 0 < low_freq_factor < high_freq_factor, got low_freq_factor={low}, high_freq_factor={high}.");
        var oldContextLen = RopeMath.OriginalMaxPositions(rope, maxPositionEmbeddings);

        var invFreq = RopeMath.DefaultInvFreq(rope.RopeTheta, dim);
        // Python scalars below meet float32 tensors, so they enter as float32.
        var lowFreqWavelen = (float)(oldContextLen / low);
        var highFreqWavelen = (float)(oldContextLen / high);
        var fFactor = (float)factor;
        var fTwoPi = (float)RopeMath.TwoPi;
        var fOld = (float)oldContextLen;
        var fLow = (float)low;
        var fSpan = (float)(high - low);

        var result = new float[invFreq.Length];
        for (var i = 0; i < invFreq.Length; i++)
        {
            var wavelen = 1f / invFreq[i] * fTwoPi;                        // 2π / inv_freq = reciprocal(inv_freq) * 2π
            var scaled = wavelen > lowFreqWavelen ? invFreq[i] / fFactor : invFreq[i];
            var smooth = (1f / wavelen * fOld - fLow) / fSpan;              // old / wavelen = reciprocal(wavelen) * old
            var smoothed = (1f - smooth) * scaled / fFactor + smooth * scaled;
            var isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            result[i] = isMedium ? smoothed : scaled;
        }
        return new RopeFrequencies(result, 1.0);
    }

    private static ConfigException Missing(string key) =>
        new($"rope_parameters.{key} is required for rope_type 'llama3' (Llama-3.1 uses low_freq_factor 1, high_freq_factor 4).");
}
