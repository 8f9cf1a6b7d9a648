using System.Text.Json;
using LongContext.Parallel.Distributed.Store;

namespace LongContext.Parallel.Distributed;

/// <summary>What a process group tells the <see cref="ProgressBoard"/> about itself.</summary>
internal interface IProgressSource
{
    string Name { get; }
    long Posted { get; }
    long Completed { get; }
    /// <summary>The latest posted operation ("AllReduce #12 on group 'dp'"), or null.</summary>
    string? Latest { get; }
}

/// <summary>
/// Heartbeats in the store so that a timed-out rank can say which peer is at fault: every rank publishes, each
/// period, a counter and how far each of its groups got. <see cref="Diagnose"/> reads them twice, a few periods apart:
/// a counter that did not move is a dead, stopped or native-blocked process; a live peer behind on the group's
/// sequence has not posted the operation (it runs other code: a diverged control flow, or is still computing).
/// Uses its own store connection, so a long Get elsewhere never delays it.
/// </summary>
internal sealed class ProgressBoard : IDisposable
{
    sealed record GroupProgress(string Name, long Posted, long Completed, string? Latest);
    sealed record Beat(long Count, GroupProgress[] Groups);

    readonly IStore store;
    readonly int rank;
    readonly TimeSpan period;
    readonly List<IProgressSource> sources = [];
    readonly Thread thread;
    readonly ManualResetEventSlim stop = new(false);
    long count;

    public ProgressBoard(IStore store, int worldRank, TimeSpan timeout)
    {
        this.store = store;
        rank = worldRank;
        period = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 8, 100, 1000));
        thread = new Thread(Loop) { IsBackground = true, Name = $"longctx heartbeat rank {worldRank}" };
        thread.Start();
    }

    public void Register(IProgressSource source) { lock (sources) sources.Add(source); }

    public void Unregister(IProgressSource source) { lock (sources) sources.Remove(source); }

    void Loop()
    {
        while (!stop.IsSet)
        {
            try { Publish(); }
            catch (Exception) { } // the store host is gone; Diagnose reports that when it matters
            stop.Wait(period);
        }
    }

    void Publish()
    {
        GroupProgress[] groups;
        lock (sources) groups = [.. sources.Select(s => new GroupProgress(s.Name, s.Posted, s.Completed, s.Latest))];
        store.Set($"hb/{rank}", JsonSerializer.SerializeToUtf8Bytes(new Beat(++count, groups)));
    }

    /// <summary>Why peers in <paramref name="worldRanks"/> have not finished operation <paramref name="seq"/> of <paramref name="group"/>.</summary>
    public string Diagnose(string group, long seq, IReadOnlyList<int> worldRanks)
    {
        try
        {
            var peers = worldRanks.Where(r => r != rank).ToArray();
            var first = peers.Select(Read).ToArray();
            Thread.Sleep(3 * period);
            var second = peers.Select(Read).ToArray();
            var lines = new List<string>();
            for (int i = 0; i < peers.Length; i++)
            {
                int r = peers[i];
                if (second[i] is null) { lines.Add($"rank {r} never published a heartbeat (it did not initialise distributed)"); continue; }
                if (first[i]?.Count == second[i]!.Count) { lines.Add($"rank {r} is unresponsive (no heartbeat for {3 * period.TotalSeconds:F1} s: dead, stopped, or blocked in native code)"); continue; }
                var g = second[i]!.Groups.FirstOrDefault(x => x.Name == group);
                if (g is null) lines.Add($"rank {r} has no group '{group}'");
                else if (g.Posted < seq) lines.Add($"rank {r} has not posted operation #{seq} on '{group}' (its latest: {g.Latest ?? "none"})");
            }
            return lines.Count > 0 ? string.Join("; ", lines) : "every rank posted it and is alive (a slow or broken link between them?)";
        }
        catch (Exception e)
        {
            return $"the rendezvous store is unreachable ({e.Message}): rank 0 has probably exited";
        }
    }

    Beat? Read(int r) => store.TryGet($"hb/{r}") is byte[] b ? JsonSerializer.Deserialize<Beat>(b) : null;

    public void Dispose()
    {
        stop.Set();
        thread.Join();
        store.Dispose();
    }
}
