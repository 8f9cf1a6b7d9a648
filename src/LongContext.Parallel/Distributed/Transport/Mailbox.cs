namespace LongContext.Parallel.Distributed.Transport;

/// <summary>
/// One rank's incoming messages, queued per (sender, channel), with the failure state receivers must see: a peer
/// that closed, or an abort of the whole transport. Messages that arrived before a peer closed are still delivered.
/// </summary>
internal sealed class Mailbox(int rank, int size)
{
    readonly object gate = new();
    readonly Dictionary<(int From, ulong Channel), Queue<byte[]>> queues = [];
    readonly string?[] closed = new string?[size];
    PeerFailureException? aborted;

    public bool IsAborted { get { lock (gate) return aborted is not null; } }

    /// <summary>A fresh copy of the abort reason (null when not aborted).</summary>
    public PeerFailureException? AbortReason
    {
        get { lock (gate) return aborted is null ? null : new PeerFailureException(aborted.Kind, aborted.Peer, aborted.Message); }
    }

    public void Deliver(int from, ulong channel, byte[] message)
    {
        lock (gate)
        {
            if (!queues.TryGetValue((from, channel), out var q)) queues[(from, channel)] = q = new Queue<byte[]>();
            q.Enqueue(message);
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>Why <paramref name="peer"/>'s connection closed, or null while it is open.</summary>
    public string? ClosedReason(int peer) { lock (gate) return closed[peer]; }

    /// <summary>Receives from <paramref name="peer"/> fail (once its queued messages are consumed) with this reason.</summary>
    public void Close(int peer, string reason)
    {
        lock (gate)
        {
            closed[peer] ??= reason;
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>Every receive fails from now on; the first abort wins. Returns false if already aborted.</summary>
    public bool Abort(PeerFailureException reason)
    {
        lock (gate)
        {
            if (aborted is not null) return false;
            aborted = reason;
            Monitor.PulseAll(gate);
            return true;
        }
    }

    public byte[] Take(int from, ulong channel, DateTime deadlineUtc)
    {
        lock (gate)
        {
            while (true)
            {
                if (aborted is not null) throw AbortReason!;
                if (queues.TryGetValue((from, channel), out var q) && q.Count > 0) return q.Dequeue();
                if (closed[from] is string why) throw new PeerFailureException(PeerFailureKind.Closed, from, why);
                var left = deadlineUtc - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    throw new PeerFailureException(PeerFailureKind.Timeout, from,
                        $"rank {rank} was waiting for rank {from}, which is hung, dead, or running a different operation");
                Monitor.Wait(gate, left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
        }
    }
}
