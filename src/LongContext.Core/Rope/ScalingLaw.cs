namespace LongContext.Core.Rope;

/// <summary>
/// How RoPE's base θ should grow with the target context, and what each dimension's period is.
/// <para>
/// Critical base (Liu et al. 2023, "Scaling Laws of RoPE-based Extrapolation", arXiv 2310.05209, eq. 16a):
/// θ(T) = θ₀^(ln(T/2π) / ln(L₀/2π)). With Llama-3's θ₀ = 500,000 and L₀ = 8,192 it gives Gradient's published
/// 3,580,165,449 at T = 1,048,576 and 45,218,125,210 at T = 4,194,304 (rounded to the nearest integer).
/// </para>
/// </summary>
public static class ScalingLaw
{
    /// <summary>θ₀^(ln(T/2π) / ln(L₀/2π)): the base whose slowest trained dimension spans the target length.</summary>
    public static double CriticalTheta(double theta0, double trainedLength, double targetLength)
    {
        CheckTheta(theta0);
        CheckLength(trainedLength, nameof(trainedLength));
        CheckLength(targetLength, nameof(targetLength));
        return Math.Pow(theta0, Math.Log(targetLength / (2 * Math.PI)) / Math.Log(trainedLength / (2 * Math.PI)));
    }

    /// <summary>
    /// Inverse of <see cref="CriticalTheta"/>: the target length T for which θ is the critical base,
    /// T = 2π·(L₀/2π)^(ln θ / ln θ₀).
    /// </summary>
    public static double TargetLengthForTheta(double theta0, double trainedLength, double theta)
    {
        CheckTheta(theta0);
        CheckTheta(theta);
        CheckLength(trainedLength, nameof(trainedLength));
        return 2 * Math.PI * Math.Pow(trainedLength / (2 * Math.PI), Math.Log(theta) / Math.Log(theta0));
    }

    /// <summary>NTK-aware base for a scale s = target/trained: θ₀·s^(d/(d−2)) (bloc97; as used by planners).</summary>
    public static double NtkAwareTheta(double theta0, double scale, int headDim)
    {
        CheckTheta(theta0);
        if (!(scale > 0) || double.IsInfinity(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be a positive finite number.");
        if (headDim <= 2)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "headDim must be above 2.");
        return theta0 * Math.Pow(scale, headDim / (double)(headDim - 2));
    }

    /// <summary>
    /// Critical dimension d_extra = 2·⌈(d/2)·log_θ₀(L₀/2π)⌉ (Liu et al.): how many of the d rotary dimensions turn a
    /// full period within the training length. Llama-3 (θ₀ 500,000, L₀ 8,192, d 128): 70.
    /// </summary>
    public static int CriticalDimension(double theta0, double trainedLength, int rotaryDim)
    {
        CheckTheta(theta0);
        CheckLength(trainedLength, nameof(trainedLength));
        if (rotaryDim < 2 || rotaryDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(rotaryDim), rotaryDim, "rotaryDim must be an even number >= 2.");
        var pairs = Math.Ceiling(rotaryDim / 2.0 * Math.Log(trainedLength / (2 * Math.PI)) / Math.Log(theta0));
        return (int)Math.Clamp(2 * pairs, 0, rotaryDim);
    }

    /// <summary>
    /// Period in tokens of each rotated pair i = 0 … rotaryDim/2−1: λ_i = 2π/inv_freq_i = 2π·θ^(2i/d) for plain RoPE.
    /// </summary>
    public static double[] Wavelengths(double theta, int rotaryDim)
    {
        CheckTheta(theta);
        if (rotaryDim < 2 || rotaryDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(rotaryDim), rotaryDim, "rotaryDim must be an even number >= 2.");
        var w = new double[rotaryDim / 2];
        for (var i = 0; i < w.Length; i++)
            w[i] = 2 * Math.PI * Math.Pow(theta, 2.0 * i / rotaryDim);
        return w;
    }

    /// <summary>Periods 2π/inv_freq_i of any computed frequencies (e.g. after yarn or llama3 scaling).</summary>
    public static double[] Wavelengths(RopeFrequencies frequencies)
    {
        ArgumentNullException.ThrowIfNull(frequencies);
        return frequencies.InvFreq.Select(f => 2 * Math.PI / f).ToArray();
    }

    private static void CheckTheta(double theta)
    {
        if (!(theta > 1) || double.IsInfinity(theta))
            throw new ArgumentOutOfRangeException(nameof(theta), theta, "RoPE theta must be a finite number above 1.");
    }

    private static void CheckLength(double length, string name)
    {
        if (!(length > 2 * Math.PI) || double.IsInfinity(length))
            throw new ArgumentOutOfRangeException(name, length, "context length must be a finite number above 2π.");
    }
}
