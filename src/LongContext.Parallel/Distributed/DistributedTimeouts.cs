namespace LongContext.Parallel.Distributed;

/// <summary>
/// How long an operation waits for its peers before the group is aborted: LONGCTX_DIST_TIMEOUT (seconds) or
/// 300 s, which covers a first step's compilation and a checkpoint save on a slow rank.
/// </summary>
public static class DistributedTimeouts
{
    public const string EnvironmentVariable = "LONGCTX_DIST_TIMEOUT";

    public static TimeSpan Default => FromEnvironment() ?? TimeSpan.FromSeconds(300);

    public static TimeSpan? FromEnvironment()
    {
        var v = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(v)) return null;
        if (!double.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out double s) || s <= 0)
            throw new DistributedException($"{EnvironmentVariable}={v}: expected a positive number of seconds.");
        return TimeSpan.FromSeconds(s);
    }
}
