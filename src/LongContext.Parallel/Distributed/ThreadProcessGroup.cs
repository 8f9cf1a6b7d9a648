using System.Diagnostics;
using System.Runtime.ExceptionServices;
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
        var results = new T[worldSize];
        var errors = new (Exception Error, long At)?[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(r => new Thread(() =>
        {
            try
            {
                using var scope = NewDisposeScope();
                results[r] = body(groups[r]);
                KeepTensors(results[r]);
            }
            catch (Exception e)
            {
                errors[r] = (e, Stopwatch.GetTimestamp());
                hub.Abort(r, $"rank {r} failed: {e.Message}");
            }
        }) { IsBackground = true, Name = $"longctx rank {r}" }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        foreach (var g in groups) g.Dispose();
        if (errors.Where(e => e is not null).OrderBy(e => e!.Value.At).FirstOrDefault() is { } first)
            ExceptionDispatchInfo.Capture(first.Error).Throw();
        return results;
    }

    public static void Run(int worldSize, Action<IProcessGroup> body, TimeSpan? timeout = null, Device? device = null) =>
        Run<bool>(worldSize, g => { body(g); return true; }, timeout, device);

    /// <summary>Takes a result's tensors (itself, a tuple's items or a sequence's elements) out of the rank's scope.</summary>
    static void KeepTensors(object? result)
    {
        switch (result)
        {
            case Tensor t: t.DetachFromDisposeScope(); break;
            case System.Runtime.CompilerServices.ITuple tuple:
                for (int i = 0; i < tuple.Length; i++) KeepTensors(tuple[i]);
                break;
            case IEnumerable<Tensor> many:
                foreach (var t in many) t.DetachFromDisposeScope();
                break;
        }
    }

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
