using System.Globalization;
using LongContext.Formats;

namespace LongContext.Eval.Niah;

/// <summary>Context lengths and needle depths of a NIAH sweep.</summary>
public static class NiahGrid
{
    /// <summary>
    /// Depth percentages from 0 to 100. Linear: evenly spaced. Sigmoid: gkamradt's logistic spacing
    /// round(100/(1+e^(−0.1(x−50))), 3) over evenly spaced x, endpoints kept at 0 and 100, so depths crowd near the ends.
    /// </summary>
    public static double[] Depths(int count, DepthSpacing spacing)
    {
        if (count < 1) throw new EvalException("--depths must be at least 1.");
        if (count == 1) return [50];
        return Enumerable.Range(0, count).Select(i =>
        {
            var x = 100.0 * i / (count - 1);
            if (spacing == DepthSpacing.Linear || i == 0 || i == count - 1) return Math.Round(x, 3);
            return Math.Round(100.0 / (1 + Math.Exp(-0.1 * (x - 50))), 3);
        }).ToArray();
    }

    /// <summary>
    /// Parses "1k,2k,4096,1m" with the one length rule set (<see cref="ContextLength"/>: k = 1024, m = 1024², so RULER's 4K
    /// is 4096; decimals only when they give whole tokens: 1.5k yes, 1.3k no), sorted and without repeats.
    /// </summary>
    public static IReadOnlyList<int> ParseLengths(string spec) =>
        ContextLength.ParseList(spec, "--lengths")
            .Select(n => n <= int.MaxValue ? (int)n : throw new ConfigException($"--lengths: {ContextLength.Format(n)} is beyond what one prompt can hold (at most {int.MaxValue} tokens)."))
            .Distinct().Order().ToList();

    public static string FormatLength(int n) =>
        n % (1024 * 1024) == 0 ? $"{n / (1024 * 1024)}M" : n % 1024 == 0 ? $"{n / 1024}K" : n.ToString(CultureInfo.InvariantCulture);
}
