namespace LongContext.Training.Plan;

/// <summary>
/// Gradient AI's published progressive schedule for Llama-3-8B-Instruct-Gradient-1048k/-4194k (model cards, commit
/// 51a5569 and the 4194k discussion #4): per stage length, the global batch in sequences and the total tokens.
/// The planner uses these where a stage length matches and interpolates between them otherwise.
/// </summary>
public static class GradientRecipe
{
    /// <summary>One published stage: length, sequences per optimizer step (batch × grad. accumulation), total tokens.</summary>
    public sealed record Stage(long Length, int BatchSequences, long Tokens);

    public static IReadOnlyList<Stage> Stages { get; } =
    [
        new(1L << 16, 32, 62_914_560),   // 65K: batch 1 × accum 32, 30 steps
        new(1L << 18, 16, 100_663_296),  // 262K: batch 1 × accum 16, 24 steps
        new(1L << 19, 16, 419_430_400),  // 524K: batch 16 × accum 1, 50 steps
        new(1L << 20, 16, 838_860_800),  // 1048K: batch 16 × accum 1, 50 steps
        new(1L << 22, 4, 201_326_592),   // 4194K: batch 2 × accum 2, 12 steps
    ];

    /// <summary>
    /// Default total tokens for a stage: Gradient's where the length matches; between two published lengths, a
    /// straight line in (log length, log tokens); outside the published range, the nearest end's number of
    /// sequences times the length.
    /// </summary>
    public static long DefaultTokens(long length)
    {
        var exact = Stages.FirstOrDefault(s => s.Length == length);
        if (exact is not null) return exact.Tokens;
        var first = Stages[0];
        var last = Stages[^1];
        if (length < first.Length) return first.Tokens / first.Length * length;
        if (length > last.Length) return last.Tokens / last.Length * length;
        int i = 0;
        while (Stages[i + 1].Length < length) i++;
        var (lo, hi) = (Stages[i], Stages[i + 1]);
        double t = Math.Log((double)length / lo.Length) / Math.Log((double)hi.Length / lo.Length);
        return (long)Math.Round(Math.Exp(Math.Log(lo.Tokens) + t * (Math.Log(hi.Tokens) - Math.Log(lo.Tokens))));
    }

    /// <summary>
    /// Default global batch in sequences: Gradient's where the length matches; otherwise the tokens per step of
    /// the published stage nearest in log length (the shorter on a tie), divided by the length (at least 1).
    /// </summary>
    public static int DefaultBatchSequences(long length)
    {
        var exact = Stages.FirstOrDefault(s => s.Length == length);
        if (exact is not null) return exact.BatchSequences;
        var nearest = Stages.OrderBy(s => Math.Abs(Math.Log((double)s.Length / length))).ThenBy(s => s.Length).First();
        long tokensPerStep = nearest.BatchSequences * nearest.Length;
        return (int)Math.Max(1, tokensPerStep / length);
    }
}
