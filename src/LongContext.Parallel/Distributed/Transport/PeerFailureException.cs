namespace LongContext.Parallel.Distributed.Transport;

internal enum PeerFailureKind { Timeout, Closed, Aborted, Mismatch }

/// <summary>A transport-level failure involving one peer (a world rank); the group adds which operation it hit.</summary>
internal sealed class PeerFailureException(PeerFailureKind kind, int peer, string message) : Exception(message)
{
    public PeerFailureKind Kind { get; } = kind;
    public int Peer { get; } = peer;
}
