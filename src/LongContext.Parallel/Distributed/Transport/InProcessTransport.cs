namespace LongContext.Parallel.Distributed.Transport;

/// <summary>Mailboxes shared by the ranks of a <see cref="ThreadProcessGroup"/> (all threads of one process).</summary>
internal sealed class InProcessHub
{
    public Mailbox[] Mailboxes { get; }

    public InProcessHub(int size) => Mailboxes = [.. Enumerable.Range(0, size).Select(r => new Mailbox(r, size))];

    /// <summary>Fails every rank's receives: <paramref name="rank"/>'s with the reason itself, the others' naming it.</summary>
    public void Abort(int rank, string reason)
    {
        if (!Mailboxes[rank].Abort(new PeerFailureException(PeerFailureKind.Aborted, rank, reason))) return;
        for (int r = 0; r < Mailboxes.Length; r++)
            if (r != rank) Mailboxes[r].Abort(new PeerFailureException(PeerFailureKind.Aborted, rank, $"rank {rank} aborted the group: {reason}"));
    }
}

/// <summary>One thread-rank's view of an <see cref="InProcessHub"/>: a send copies the bytes into the peer's mailbox.</summary>
internal sealed class InProcessTransport(InProcessHub hub, int rank) : IPeerTransport
{
    public int Rank => rank;
    public int Size => hub.Mailboxes.Length;
    public string Name => "thread";

    public void Send(int peer, ulong channel, ReadOnlySpan<byte> message) => hub.Mailboxes[peer].Deliver(rank, channel, message.ToArray());

    public byte[] Receive(int peer, ulong channel, DateTime deadlineUtc) => hub.Mailboxes[rank].Take(peer, channel, deadlineUtc);

    public void Abort(string reason) => hub.Abort(rank, reason);

    public void Dispose() { }
}
