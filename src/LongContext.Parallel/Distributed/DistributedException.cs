namespace LongContext.Parallel.Distributed;

/// <summary>
/// A collective or rendezvous failed: a peer died, hung past the timeout, or ranks disagree on shapes. The message
/// names this rank, the operation, and the peer at fault when known.
/// </summary>
public sealed class DistributedException : LongContextException
{
    public DistributedException(string message) : base(message) { }
    public DistributedException(string message, Exception inner) : base(message, inner) { }
}
