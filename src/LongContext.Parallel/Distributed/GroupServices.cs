namespace LongContext.Parallel.Distributed;

/// <summary>
/// What a multi-process context gives its groups (and their sub-groups inherit): the heartbeat board that names
/// the peer behind a timeout, and a callback when a group fails (the context ends a process that does not stop).
/// </summary>
internal sealed record GroupServices(ProgressBoard? Board, Action<DistributedException>? OnFailure)
{
    public static readonly GroupServices None = new(null, null);
}
