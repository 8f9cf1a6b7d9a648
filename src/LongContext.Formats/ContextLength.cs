using System.Globalization;

namespace LongContext.Formats;

/// <summary>
/// Token counts written for people: "1048576", "64K", "256k", "1M", "1.5M", "2G". Suffixes are binary
/// (K = 1024, M = 1024², G = 1024³), so "64K" = 65,536 and "1M" = 1,048,576 — the powers of two that Gradient's
/// cards label "65K, 262K, 524K, 1048K" (2^16, 2^18, 2^19, 2^20). Note that "1048K" therefore means
/// 1048 × 1024 = 1,073,152, not 2^20: write "1M" (or 1048576) for Gradient's last stage.
/// </summary>
public static class ContextLength
{
    /// <summary>Parses one count; <paramref name="what"/> names the option in error messages.</summary>
    public static long Parse(string text, string what = "length")
    {
        var s = (text ?? "").Trim();
        if (s.Length == 0) throw new ConfigException($"{what}: empty value; write a token count such as 65536, 64K or 1M.");
        long multiplier = 1;
        switch (char.ToUpperInvariant(s[^1]))
        {
            case 'K': multiplier = 1L << 10; s = s[..^1]; break;
            case 'M': multiplier = 1L << 20; s = s[..^1]; break;
            case 'G': multiplier = 1L << 30; s = s[..^1]; break;
        }
        if (!decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            throw new ConfigException($"{what}: '{text}' is not a token count; write e.g. 65536, 64K, 256K or 1M (K = 1024, M = 1024²).");
        decimal value;
        try { value = number * multiplier; }
        catch (OverflowException) { throw new ConfigException($"{what}: '{text}' is too large."); }
        if (value != decimal.Truncate(value))
            throw new ConfigException($"{what}: '{text}' is {value.ToString(CultureInfo.InvariantCulture)} tokens, not a whole number.");
        if (value <= 0) throw new ConfigException($"{what}: '{text}' must be positive.");
        if (value > (1L << 40)) throw new ConfigException($"{what}: '{text}' is too large (at most 1024G tokens).");
        return (long)value;
    }

    /// <summary>Parses a comma-separated list ("64K,256K,1M").</summary>
    public static IReadOnlyList<long> ParseList(string text, string what = "lengths")
    {
        var parts = (text ?? "").Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.All(p => p.Length == 0))
            throw new ConfigException($"{what}: empty list; write e.g. 64K,256K,1M.");
        return parts.Select((p, i) => Parse(p, $"{what} (item {i + 1})")).ToArray();
    }

    /// <summary>Shortest exact form: 65536 → "64K", 1048576 → "1M", 1536 → "1.5K", 1000 → "1000".</summary>
    public static string Format(long tokens)
    {
        foreach (var (unit, suffix) in new[] { (1L << 30, "G"), (1L << 20, "M"), (1L << 10, "K") })
        {
            if (tokens >= unit && tokens * 100 % unit == 0)
                return (tokens / (decimal)unit).ToString("0.##", CultureInfo.InvariantCulture) + suffix;
        }
        return tokens.ToString(CultureInfo.InvariantCulture);
    }
}
