using LongContext.Parallel.Distributed.Transport;
using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>
/// N ranks as threads of one process, with the same ring algorithms as the TCP group: cheap equivalence tests
/// (distributed result vs single-device reference) and simulated ranks on one GPU. A rank that throws aborts the
/// group, so the others fail at once naming it instead of waiting for their timeout.
/// </summary>
public static class ThreadProcessGroup
{
    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="worldSize"/> threads, each with its own group and dispose scope,
    /// and returns their results by rank (tensors in the result, also inside tuples and sequences, are detached from the scope). Rethrows the first failure
    /// (the root cause; the other ranks' errors follow from it).
    /// </summary>
    public static T[] Run<T>(int worldSize, Func<IProcessGroup, T> body, TimeSpan? timeout = null, Device? device = null)
    {
        var (hub, groups) = CreateWithHub(worldSize, timeout, device);
        return RankThreads.Run(worldSize, r => groups[r], body, (r, _, e) => hub.Abort(r, $"rank {r} failed: {e.Message}"));
    }

    public static void Run(int worldSize, Action<IProcessGroup> body, TimeSpan? timeout = null, Device? device = null) =>
        Run<bool>(worldSize, g => { body(g); return true; }, timeout, device);

    /// <summary>The ranks' groups, for callers that drive their own threads (one group per thread; dispose each).</summary>
    public static IProcessGroup[] Create(int worldSize, TimeSpan? timeout = null, Device? device = null) => CreateWithHub(worldSize, timeout, device).Groups;

    static (InProcessHub Hub, IProcessGroup[] Groups) CreateWithHub(int worldSize, TimeSpan? timeout, Device? device)
    {
        if (worldSize < 1) throw new ArgumentOutOfRangeException(nameof(worldSize), "a group needs at least one rank");
        var hub = new InProcessHub(worldSize);
        int[] ranks = [.. Enumerable.Range(0, worldSize)];
        var groups = ranks.Select(r => (IProcessGroup)new HostProcessGroup(new InProcessTransport(hub, r), ranks, "world",
            device ?? CPU, timeout ?? DistributedTimeouts.Default, channel: 1, ownsTransport: true)).ToArray();
        return (hub, groups);
    }
}
