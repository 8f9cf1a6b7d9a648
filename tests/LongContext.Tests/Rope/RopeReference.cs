using LongContext.Core.Rope;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Rope;

/// <summary>
/// Two independent references for the RoPE methods:
/// <list type="bullet">
/// <item>Paper formulas in double precision (no float32 emulation): the library must agree to float32 accuracy.</item>
/// <item>HF's Python lines transliterated op by op onto libtorch (TorchSharp, CPU), the same kernels and type
/// promotion transformers runs: the library's float32 emulation must agree to within 1 ulp (libtorch CPU pow is within 1 ulp of correctly rounded).</item>
/// </list>
/// </summary>
internal static class RopeReference
{
    // ---------------- double-precision formulas ----------------

    public static double[] Default(double theta, int dim)
    {
        var r = new double[dim / 2];
        for (var i = 0; i < r.Length; i++)
            r[i] = Math.Pow(theta, -2.0 * i / dim);
        return r;
    }

    public static double[] Linear(double theta, int dim, double factor) => Default(theta, dim).Select(f => f / factor).ToArray();

    /// <summary>NTK-aware dynamic base θ·(s·L/L₀ − (s−1))^(d/(d−2)) once L exceeds L₀.</summary>
    public static double[] Dynamic(double theta, int dim, double factor, int maxPositions, int seqLen)
    {
        var len = Math.Max(seqLen, maxPositions);
        var b = theta * Math.Pow(factor * len / maxPositions - (factor - 1), dim / (dim - 2.0));
        return Default(b, dim);
    }

    /// <summary>
    /// YaRN: pair i turns r_i = L_orig/λ_i times in the original context. The ramp runs over the pair index between
    /// the (floored) index where r = β_fast and the (ceiled) index where r = β_slow; below it frequencies are kept,
    /// above it divided by the factor.
    /// </summary>
    public static double[] Yarn(double theta, int dim, double factor, int originalMax, double betaFast = 32, double betaSlow = 1, bool truncate = true)
    {
        double IndexWhereRotations(double r) => dim / 2.0 * Math.Log(originalMax / (2 * Math.PI * r)) / Math.Log(theta);
        var lo = IndexWhereRotations(betaFast);
        var hi = IndexWhereRotations(betaSlow);
        if (truncate)
        {
            lo = Math.Floor(lo);
            hi = Math.Ceiling(hi);
        }
        lo = Math.Max(lo, 0);
        hi = Math.Min(hi, dim - 1);
        if (lo == hi)
            hi += 0.001;
        var baseFreq = Default(theta, dim);
        var r = new double[baseFreq.Length];
        for (var i = 0; i < r.Length; i++)
        {
            var interpolate = Math.Clamp((i - lo) / (hi - lo), 0, 1);   // 0: keep, 1: divide by factor
            r[i] = baseFreq[i] / factor * interpolate + baseFreq[i] * (1 - interpolate);
        }
        return r;
    }

    /// <summary>Llama 3.1: λ &lt; L/high kept, λ &gt; L/low divided by factor, linear in L/λ between.</summary>
    public static double[] Llama3(double theta, int dim, double factor, double low, double high, int originalMax)
    {
        var baseFreq = Default(theta, dim);
        var r = new double[baseFreq.Length];
        for (var i = 0; i < r.Length; i++)
        {
            var lambda = 2 * Math.PI / baseFreq[i];
            if (lambda < originalMax / high)
                r[i] = baseFreq[i];
            else if (lambda > originalMax / low)
                r[i] = baseFreq[i] / factor;
            else
            {
                var smooth = (originalMax / lambda - low) / (high - low);
                r[i] = (1 - smooth) * baseFreq[i] / factor + smooth * baseFreq[i];
            }
        }
        return r;
    }

    public static double[] LongRope(double theta, int dim, double[] ext)
    {
        var baseFreq = Default(theta, dim);
        return baseFreq.Select((f, i) => f / ext[i]).ToArray();
    }

    // ---------------- HF lines on libtorch ----------------

    private static Tensor Arange2(int dim) => torch.arange(0, dim, 2, dtype: ScalarType.Int64).to_type(ScalarType.Float32) / dim;

    /// <summary>`1.0 / (base ** (arange(0, dim, 2).float() / dim))` with Python semantics (scalar ** tensor, reciprocal).</summary>
    public static float[] TorchDefault(double theta, int dim)
    {
        using var scope = NewDisposeScope();
        var e = Arange2(dim);
        var pow = torch.full_like(e, theta).pow(e);
        return (pow.reciprocal() * 1.0).data<float>().ToArray();
    }

    /// <summary>HF's dynamic_rope_update path: seq_len an int64 0-dim tensor, so the base is float32 math.</summary>
    public static float[] TorchDynamicTensorSeqLen(double theta, int dim, double factor, int maxPositions, long seqLen)
    {
        using var scope = NewDisposeScope();
        var s = torch.maximum(torch.tensor(seqLen), torch.tensor((long)maxPositions));
        var b = theta * ((factor * s / maxPositions) - (factor - 1)).pow(dim / (double)(dim - 2));
        var e = Arange2(dim);
        var pow = b.pow(e);
        return (pow.reciprocal() * 1.0).data<float>().ToArray();
    }

    public static float[] TorchYarn(double theta, int dim, double factor, double low, double high)
    {
        using var scope = NewDisposeScope();
        var posFreqs = torch.full(dim / 2, theta, dtype: ScalarType.Float32).pow(Arange2(dim));
        var extrapolation = posFreqs.reciprocal() * 1.0;
        var interpolation = (factor * posFreqs).reciprocal() * 1.0;
        if (low == high)
            high += 0.001;
        var linear = (torch.arange(dim / 2, dtype: ScalarType.Float32) - low) / (high - low);
        var ramp = linear.clamp(0, 1);
        var extrapolationFactor = 1 - ramp;
        var inv = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        return inv.data<float>().ToArray();
    }

    public static float[] TorchLlama3(double theta, int dim, double factor, double lowFreqFactor, double highFreqFactor, int oldContextLen)
    {
        using var scope = NewDisposeScope();
        var invFreq = torch.full(dim / 2, theta, dtype: ScalarType.Float32).pow(Arange2(dim)).reciprocal() * 1.0;
        var lowFreqWavelen = oldContextLen / lowFreqFactor;
        var highFreqWavelen = oldContextLen / highFreqFactor;
        var wavelen = invFreq.reciprocal() * (2 * Math.PI);
        var invFreqLlama = torch.where(wavelen > lowFreqWavelen, invFreq / factor, invFreq);
        var smoothFactor = (wavelen.reciprocal() * oldContextLen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        var smoothed = (1 - smoothFactor) * invFreqLlama / factor + smoothFactor * invFreqLlama;
        var isMedium = (wavelen < highFreqWavelen).logical_not().logical_and((wavelen > lowFreqWavelen).logical_not());
        return torch.where(isMedium, smoothed, invFreqLlama).data<float>().ToArray();
    }

    public static float[] TorchLongRope(double theta, int dim, double[] ext)
    {
        using var scope = NewDisposeScope();
        var extT = torch.tensor(ext, dtype: ScalarType.Float32);
        var pow = torch.full(dim / 2, theta, dtype: ScalarType.Float32).pow(Arange2(dim));
        return ((extT * pow).reciprocal() * 1.0).data<float>().ToArray();
    }

    // ---------------- comparisons ----------------

    public static long UlpDistance(float a, float b)
    {
        var ia = BitConverter.SingleToInt32Bits(a);
        var ib = BitConverter.SingleToInt32Bits(b);
        if (ia < 0) ia = int.MinValue - ia;
        if (ib < 0) ib = int.MinValue - ib;
        return Math.Abs((long)ia - ib);
    }

    public static void AssertWithinUlps(float[] expected, float[] actual, int ulps, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var d = UlpDistance(expected[i], actual[i]);
            Assert.True(d <= ulps, $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} ({d} ulp apart)");
        }
    }

    public static void AssertRelClose(double[] expected, float[] actual, double relTol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var rel = Math.Abs(actual[i] - expected[i]) / Math.Abs(expected[i]);
            Assert.True(rel <= relTol, $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (relative error {rel:E2} > {relTol:E1})");
        }
    }
}
