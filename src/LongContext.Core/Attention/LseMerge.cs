namespace LongContext.Core.Attention;

/// <summary>Combines two attention results over disjoint key sets into the result over their union (computed in fp32).</summary>
public static class LseMerge
{
    /// <summary>
    /// out = Σ out_i·exp(lse_i − lse), lse = logaddexp(lse_a, lse_b), rounded to a's dtype. Rows where one side saw no
    /// keys (lse = −inf) take the other side unchanged. To merge many blocks use <see cref="LseAccumulator"/>, which
    /// rounds once at the end instead of at every merge.
    /// </summary>
    public static AttentionResult Merge(AttentionResult a, AttentionResult b)
    {
        using var accumulator = new LseAccumulator(a);
        accumulator.Add(b);
        return accumulator.Result(a.Output.dtype);
    }
}
