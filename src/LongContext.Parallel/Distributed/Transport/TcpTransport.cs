using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using LongContext.Parallel.Distributed.Store;

namespace LongContext.Parallel.Distributed.Transport;

/// <summary>
/// A full mesh of TCP connections between the ranks (the higher rank connects to the lower one's listener, whose
/// address it reads from the store). One reader thread per peer drains frames into the <see cref="Mailbox"/>, so a
/// send never waits for the receiver's code. Frame: channel (u64), length (i32), payload; the reserved channel
/// <see cref="AbortChannel"/> carries an abort reason. For CPU runs and tests: production multi-GPU uses NCCL.
/// </summary>
internal sealed class TcpTransport : IPeerTransport
{
    const ulong AbortChannel = ulong.MaxValue;
    const uint HandshakeMagic = 0x4C435450; // "LCTP"

    readonly Mailbox mailbox;
    readonly Socket?[] peers;
    readonly object[] sendLocks;
    readonly TimeSpan timeout;
    readonly List<Thread> readers = [];
    volatile bool closing;

    public int Rank { get; }
    public int Size { get; }
    public string Name => "tcp";

    TcpTransport(int rank, int size, Socket?[] peers, TimeSpan timeout)
    {
        (Rank, Size, this.peers, this.timeout) = (rank, size, peers, timeout);
        mailbox = new Mailbox(rank, size);
        sendLocks = [.. Enumerable.Range(0, size).Select(_ => new object())];
        for (int p = 0; p < size; p++)
            if (peers[p] is Socket s)
            {
                int peer = p;
                var reader = new Thread(() => ReadLoop(peer, s)) { IsBackground = true, Name = $"longctx tcp rank {rank} <- {peer}" };
                readers.Add(reader);
                reader.Start();
            }
    }

    /// <summary>Connects rank <paramref name="rank"/> to every other rank; collective over the world (all must call it).</summary>
    public static TcpTransport Connect(IStore store, int rank, int size, IPAddress advertise, TimeSpan timeout, string prefix)
    {
        var peers = new Socket?[size];
        var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start(backlog: Math.Max(16, size));
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            store.SetString($"{prefix}/addr/{rank}", $"{advertise}|{port}");
            var deadline = DateTime.UtcNow + timeout;
            // Higher ranks connect to us; we connect to lower ranks. Accept on another thread meanwhile.
            Exception? acceptError = null;
            var acceptor = new Thread(() =>
            {
                try
                {
                    for (int accepted = 0; accepted < size - 1 - rank; accepted++)
                    {
                        var acceptTask = listener.AcceptSocketAsync();
                        if (!acceptTask.Wait(Remaining(deadline))) throw new TimeoutException();
                        var s = acceptTask.Result;
                        s.NoDelay = true;
                        s.ReceiveTimeout = (int)timeout.TotalMilliseconds;
                        var hello = new byte[12].AsSpan();
                        SocketIO.ReadExactly(s, hello);
                        int from = BinaryPrimitives.ReadInt32LittleEndian(hello[4..]);
                        if (BinaryPrimitives.ReadUInt32LittleEndian(hello) != HandshakeMagic || from <= rank || from >= size
                            || BinaryPrimitives.ReadInt32LittleEndian(hello[8..]) != size || peers[from] is not null)
                            throw new InvalidDataException($"an unexpected connection (claims rank {from} of {BinaryPrimitives.ReadInt32LittleEndian(hello[8..])}) reached rank {rank}'s port: is another job using the same MASTER_PORT?");
                        s.ReceiveTimeout = 0;
                        peers[from] = s;
                    }
                }
                catch (Exception e) { acceptError = e; }
            }) { IsBackground = true, Name = $"longctx tcp accept rank {rank}" };
            acceptor.Start();
            for (int p = 0; p < rank; p++)
                peers[p] = ConnectTo(store, prefix, rank, p, size, deadline, timeout);
            acceptor.Join();
            if (acceptError is not null)
            {
                var missing = Enumerable.Range(rank + 1, size - 1 - rank).Where(r => peers[r] is null);
                throw new DistributedException(acceptError is TimeoutException or AggregateException
                    ? $"tcp rendezvous: rank {rank} waited {timeout.TotalSeconds:F0} s for rank(s) {string.Join(", ", missing)} to connect (did they start? can they reach {advertise}?)"
                    : $"tcp rendezvous on rank {rank}: {acceptError.Message}", acceptError);
            }
            return new TcpTransport(rank, size, peers, timeout);
        }
        catch
        {
            foreach (var s in peers) s?.Dispose();
            throw;
        }
        finally
        {
            listener.Stop();
        }
    }

    static Socket ConnectTo(IStore store, string prefix, int rank, int peer, int size, DateTime deadline, TimeSpan timeout)
    {
        var parts = store.GetString($"{prefix}/addr/{peer}", Remaining(deadline)).Split('|');
        var endpoint = new IPEndPoint(IPAddress.Parse(parts[0]), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        while (true)
        {
            var s = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                s.Connect(endpoint);
                var hello = new byte[12].AsSpan();
                BinaryPrimitives.WriteUInt32LittleEndian(hello, HandshakeMagic);
                BinaryPrimitives.WriteInt32LittleEndian(hello[4..], rank);
                BinaryPrimitives.WriteInt32LittleEndian(hello[8..], size);
                SocketIO.WriteAll(s, hello);
                return s;
            }
            catch (SocketException e)
            {
                s.Dispose();
                if (DateTime.UtcNow >= deadline)
                    throw new DistributedException($"tcp rendezvous: rank {rank} could not connect to rank {peer} at {endpoint} within {timeout.TotalSeconds:F0} s ({e.Message})");
                Thread.Sleep(50);
            }
        }
    }

    static TimeSpan Remaining(DateTime deadline) => deadline > DateTime.UtcNow ? deadline - DateTime.UtcNow : TimeSpan.Zero;

    public void Send(int peer, ulong channel, ReadOnlySpan<byte> message)
    {
        if (peer == Rank)
        {
            mailbox.Deliver(Rank, channel, message.ToArray());
            return;
        }
        var s = peers[peer]!;
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(head, channel);
        BinaryPrimitives.WriteInt32LittleEndian(head[8..], message.Length);
        lock (sendLocks[peer])
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                s.SendTimeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
                SocketIO.WriteAll(s, head);
                SocketIO.WriteAll(s, message);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                // The reader usually sees the cause (reset, close, abort frame) a moment later: prefer its words.
                for (int i = 0; i < 100 && !mailbox.IsAborted && mailbox.ClosedReason(peer) is null; i++) Thread.Sleep(10);
                if (mailbox.IsAborted) throw mailbox.AbortReason!;
                if (mailbox.ClosedReason(peer) is string closed) throw new PeerFailureException(PeerFailureKind.Closed, peer, closed);
                throw e is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock } && elapsed >= timeout * 0.9
                    ? new PeerFailureException(PeerFailureKind.Timeout, peer, $"sending to rank {peer} made no progress for {elapsed.TotalSeconds:F1} s: it stopped reading (hung or stopped)")
                    : new PeerFailureException(PeerFailureKind.Closed, peer, $"sending to rank {peer} failed ({e.Message}): its process exited or was killed");
            }
        }
    }

    public byte[] Receive(int peer, ulong channel, DateTime deadlineUtc) => mailbox.Take(peer, channel, deadlineUtc);

    public void Abort(string reason)
    {
        if (!mailbox.Abort(new PeerFailureException(PeerFailureKind.Aborted, Rank, reason))) return;
        var payload = System.Text.Encoding.UTF8.GetBytes(reason);
        for (int p = 0; p < Size; p++)
        {
            if (peers[p] is not Socket s) continue;
            // Best effort: a peer whose socket is busy (a send stuck on a hung rank) just sees the connection close.
            if (Monitor.TryEnter(sendLocks[p], TimeSpan.FromSeconds(1)))
            {
                try
                {
                    var head = new byte[12];
                    BinaryPrimitives.WriteUInt64LittleEndian(head, AbortChannel);
                    BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(8), payload.Length);
                    s.SendTimeout = 1000;
                    SocketIO.WriteAll(s, head);
                    SocketIO.WriteAll(s, payload);
                }
                catch (Exception) { }
                finally { Monitor.Exit(sendLocks[p]); }
            }
            try { s.Shutdown(SocketShutdown.Send); } catch (Exception) { }
        }
    }

    void ReadLoop(int peer, Socket s)
    {
        var head = new byte[12];
        try
        {
            while (true)
            {
                SocketIO.ReadExactly(s, head);
                ulong channel = BinaryPrimitives.ReadUInt64LittleEndian(head);
                var payload = new byte[BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(8))];
                SocketIO.ReadExactly(s, payload);
                if (channel == AbortChannel)
                    mailbox.Abort(new PeerFailureException(PeerFailureKind.Aborted, peer, $"rank {peer} aborted the group: {System.Text.Encoding.UTF8.GetString(payload)}"));
                else
                    mailbox.Deliver(peer, channel, payload);
            }
        }
        catch (Exception e)
        {
            if (closing) return;
            mailbox.Close(peer, e is EndOfStreamException
                ? $"rank {peer} closed its connection: its process exited or was killed"
                : $"the connection to rank {peer} failed ({e.Message}): its process exited or was killed, or the network dropped");
            // A send blocked on this socket (the peer stopped reading when it died) fails now instead of at its timeout.
            try { s.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        }
    }

    /// <summary>
    /// Closes gracefully: ends our sending side, gives the peers a moment to end theirs (closing a socket with unread
    /// data would reset the connection and could lose their last messages), then closes.
    /// </summary>
    public void Dispose()
    {
        closing = true;
        foreach (var s in peers)
            try { s?.Shutdown(SocketShutdown.Send); } catch (Exception) { }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        foreach (var r in readers) r.Join(Remaining(deadline));
        foreach (var s in peers) s?.Dispose();
    }
}
