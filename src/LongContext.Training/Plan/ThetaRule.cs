using System.Globalization;

namespace LongContext.Training.Plan;

public enum ThetaRuleKind
{
    /// <summary>Critical base of "Scaling Laws of RoPE-based Extrapolation" (Liu et al. 2023, eq. 16a).</summary>
    ScalingLaw,
    /// <summary>Static NTK-aware base θ₀·s^(d/(d−2)), s = stage length / T_train.</summary>
    Ntk,
    /// <summary>User-given θ, one per stage.</summary>
    Fixed,
}

/// <summary>How the planner picks RoPE θ for each stage (`--theta scaling-law|ntk|fixed:V1,V2,...`).</summary>
public sealed record ThetaRule(ThetaRuleKind Kind, IReadOnlyList<double>? FixedValues = null)
{
    public static ThetaRule Default { get; } = new(ThetaRuleKind.ScalingLaw);

    public override string ToString() => Kind switch
    {
        ThetaRuleKind.ScalingLaw => "scaling-law",
        ThetaRuleKind.Ntk => "ntk",
        _ => "fixed:" + string.Join(",", FixedValues!.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
    };

    public static ThetaRule Parse(string text)
    {
        var s = (text ?? "").Trim();
        if (s.Equals("scaling-law", StringComparison.OrdinalIgnoreCase)) return Default;
        if (s.Equals("ntk", StringComparison.OrdinalIgnoreCase)) return new ThetaRule(ThetaRuleKind.Ntk);
        if (s.StartsWith("fixed:", StringComparison.OrdinalIgnoreCase))
        {
            var values = s["fixed:".Length..].Split(',', StringSplitOptions.TrimEntries).Select(v =>
                double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 1 && double.IsFinite(d)
                    ? d
                    : throw new ConfigException($"--theta: '{v}' in '{text}' is not a RoPE base (a number > 1, e.g. 15296098 or 1.5e7).")).ToArray();
            return new ThetaRule(ThetaRuleKind.Fixed, values);
        }
        throw new ConfigException($"--theta: '{text}' is not a rule; use scaling-law, ntk or fixed:V1,V2,... (one value per stage).");
    }

    /// <summary>θ for each stage length, rounded to a whole number for the computed rules (fixed values are kept).</summary>
    public IReadOnlyList<double> ThetasFor(RopeBaseline baseline, IReadOnlyList<long> stageLengths)
    {
        if (Kind == ThetaRuleKind.Fixed)
        {
            if (FixedValues!.Count != stageLengths.Count)
                throw new ConfigException($"--theta: fixed gives {FixedValues.Count} value(s) but the plan has {stageLengths.Count} stage(s); give one θ per stage.");
            return FixedValues;
        }
        return stageLengths.Select(length => Math.Round(Kind == ThetaRuleKind.ScalingLaw
            ? LongContext.Core.Rope.ScalingLaw.CriticalTheta(baseline.Theta0, baseline.TrainedLength, length)
            : NtkTheta(baseline.Theta0, baseline.TrainedLength, length, baseline.RotaryDim), MidpointRounding.AwayFromZero)).ToArray();
    }

    /// <summary>Static NTK-aware base: θ₀·s^(d/(d−2)) with s = target / trained.</summary>
    public static double NtkTheta(double theta0, double trainedLength, double targetLength, int rotaryDim)
    {
        if (rotaryDim <= 2) throw new ConfigException($"NTK θ needs a rotary dimension > 2 (got {rotaryDim}).");
        return LongContext.Core.Rope.ScalingLaw.NtkAwareTheta(theta0, targetLength / trainedLength, rotaryDim);
    }
}
