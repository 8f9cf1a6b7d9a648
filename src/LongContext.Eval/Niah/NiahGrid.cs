using System.Globalization;

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

    /// <summary>Parses "1k,2k,4096,1m": k = 1024, m = 1024² (RULER's 4K is 4096).</summary>
    public static IReadOnlyList<int> ParseLengths(string spec)
    {
        var list = new List<int>();
        foreach (var raw in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var s = raw.ToLowerInvariant();
            var mult = s.EndsWith('k') ? 1024L : s.EndsWith('m') ? 1024L * 1024 : 1L;
            var num = mult == 1 ? s : s[..^1];
            if (!double.TryParse(num, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v <= 0 || v * mult > int.MaxValue)
                throw new EvalException($"--lengths: cannot read '{raw}'; use numbers with an optional k or m suffix, e.g. 4k,8k,16k.");
            list.Add((int)Math.Round(v * mult));
        }
        if (list.Count == 0) throw new EvalException("--lengths is empty; e.g. --lengths 4k,8k.");
        return list.Distinct().Order().ToList();
    }

    public static string FormatLength(int n) =>
        n % (1024 * 1024) == 0 ? $"{n / (1024 * 1024)}M" : n % 1024 == 0 ? $"{n / 1024}K" : n.ToString(CultureInfo.InvariantCulture);
}
