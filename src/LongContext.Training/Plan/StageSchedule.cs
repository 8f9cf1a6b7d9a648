using LongContext.Formats;

namespace LongContext.Training.Plan;

/// <summary>The stage lengths of a progressive extension.</summary>
public static class StageSchedule
{
    /// <summary>
    /// Gradient-style schedule from the model's native length to the target: first ×8, then ×4, then doubling;
    /// a step that would pass the target is replaced by the target. From 8K: 64K, 256K, 512K, 1M (→ 2M, 4M).
    /// </summary>
    public static IReadOnlyList<long> Default(long nativeLength, long target)
    {
        if (target <= nativeLength)
            throw new ConfigException($"--target {ContextLength.Format(target)} is not longer than the model's native context {ContextLength.Format(nativeLength)}; nothing to extend.");
        var stages = new List<long>();
        long length = nativeLength;
        int[] factors = [8, 4];
        for (int i = 0; length < target; i++)
        {
            length = Math.Min(target, length * (i < factors.Length ? factors[i] : 2));
            stages.Add(length);
        }
        return stages;
    }

    /// <summary>Checks user-given stages: strictly increasing, above the native length, ending at the target if one is given.</summary>
    public static IReadOnlyList<long> Validate(IReadOnlyList<long> stages, long nativeLength, long? target)
    {
        if (stages.Count == 0) throw new ConfigException("--stages: give at least one length, e.g. 64K,256K,1M.");
        for (int i = 0; i < stages.Count; i++)
        {
            if (stages[i] <= nativeLength)
                throw new ConfigException($"--stages: {ContextLength.Format(stages[i])} is not longer than the model's native context {ContextLength.Format(nativeLength)}.");
            if (i > 0 && stages[i] <= stages[i - 1])
                throw new ConfigException($"--stages: lengths must increase ({ContextLength.Format(stages[i - 1])} is followed by {ContextLength.Format(stages[i])}).");
        }
        if (target is { } t && stages[^1] != t)
            throw new ConfigException($"--stages ends at {ContextLength.Format(stages[^1])} but --target is {ContextLength.Format(t)}; make the last stage the target or drop --target.");
        return stages;
    }
}
