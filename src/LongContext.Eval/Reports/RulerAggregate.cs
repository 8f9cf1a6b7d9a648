namespace LongContext.Eval.Reports;

/// <summary>
/// RULER's aggregation: task score = mean over samples; length score = unweighted mean of the task scores; Avg = mean of
/// length scores; wAvg(inc) weights lengths 1..n from shortest to longest, wAvg(dec) n..1; effective length = longest
/// length whose score exceeds 85.6 (Llama-2-7B-chat at 4K).
/// </summary>
public static class RulerAggregate
{
    public const double Threshold = 85.6;

    public static double Average(IReadOnlyList<double> lengthScores) => lengthScores.Count == 0 ? double.NaN : lengthScores.Average();

    public static double WeightedAverage(IReadOnlyList<double> lengthScoresAscending, bool increasing)
    {
        var n = lengthScoresAscending.Count;
        if (n == 0) return double.NaN;
        double num = 0, den = 0;
        for (var i = 0; i < n; i++)
        {
            var w = increasing ? i + 1 : n - i;
            num += w * lengthScoresAscending[i];
            den += w;
        }
        return num / den;
    }

    /// <summary>Longest length scoring above the threshold, or null when none does.</summary>
    public static int? EffectiveLength(IReadOnlyList<(int Length, double Score)> scores, double threshold = Threshold) =>
        scores.Where(s => s.Score > threshold).Select(s => (int?)s.Length).DefaultIfEmpty(null).Max();
}
