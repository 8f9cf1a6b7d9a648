namespace LongContext.Eval.Ruler;

/// <summary>
/// RULER's length fitting (binary search since NVIDIA/RULER 56ea4ef): the largest haystack size whose prompt, counted
/// with the model's tokenizer and template, plus the answer budget fits the target length.
/// </summary>
public static class LengthFitter
{
    /// <summary>
    /// Largest size in [minSize, ..] with tokensAt(size) + reserve &lt;= budget, assuming tokensAt grows with size.
    /// The upper bound comes from one probe at <paramref name="incremental"/> (tokens per unit), as RULER does.
    /// Returns 0 when even minSize does not fit.
    /// </summary>
    public static int Fit(Func<int, int> tokensAt, int budget, int incremental, int minSize = 1)
    {
        incremental = Math.Max(1, incremental);
        var probe = tokensAt(incremental);
        var perUnit = Math.Max(1e-3, probe / (double)incremental);
        var hi = (int)Math.Min(int.MaxValue / 2, Math.Max(3.0 * budget / perUnit, 2.0 * incremental));
        var lo = minSize;
        if (tokensAt(lo) > budget) return 0;
        // Grow hi if the estimate was too small (e.g. a large fixed template cost).
        while (tokensAt(hi) <= budget && hi < int.MaxValue / 4) { lo = hi; hi *= 2; }
        while (lo < hi)
        {
            var mid = lo + (hi - lo + 1) / 2;
            if (tokensAt(mid) <= budget) lo = mid; else hi = mid - 1;
        }
        return lo;
    }
}
