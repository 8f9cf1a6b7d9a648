namespace LongContext.Parallel.Distributed.Transport;

/// <summary>
/// Ordered byte messages between the world's ranks, multiplexed by channel (one channel per process group).
/// Sends never wait for the receiver to post its receive (messages are queued on arrival), so a group may post all
/// of an operation's sends before its receives without deadlock. Peers are world ranks; sending to oneself works.
/// </summary>
internal interface IPeerTransport : IDisposable
{
    int Rank { get; }
    int Size { get; }
    /// <summary>"thread" or "tcp".</summary>
    string Name { get; }

    void Send(int peer, ulong channel, ReadOnlySpan<byte> message);

    /// <summary>
    /// The next message from <paramref name="peer"/> on <paramref name="channel"/>; throws
    /// <see cref="PeerFailureException"/> when the peer closed, the transport was aborted, or the deadline passed.
    /// </summary>
    byte[] Receive(int peer, ulong channel, DateTime deadlineUtc);

    /// <summary>
    /// Fails every pending and future receive with <paramref name="reason"/> and tells the peers (they fail with
    /// "rank k aborted: reason"). The first reason wins; later calls do nothing.
    /// </summary>
    void Abort(string reason);
}
