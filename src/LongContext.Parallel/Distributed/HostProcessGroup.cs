using System.Collections.Concurrent;
using LongContext.Parallel.Distributed.Transport;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>
/// Collectives as ring algorithms over the byte messages of an <see cref="IPeerTransport"/> (threads of one
/// process, or TCP between processes). One worker thread per group runs the operations in posting order, as a
/// CUDA stream would; sub-groups from <see cref="Split"/> have their own worker and channel, so they progress
/// independently. Tensors are staged through host memory when they live on a GPU. Sums of bf16/fp16 accumulate
/// in fp32. All-reduce is reduce-scatter then all-gather, so every rank ends with bit-identical values.
/// A failed operation aborts the transport: peers fail at once naming this rank instead of waiting for a timeout.
/// </summary>
internal sealed class HostProcessGroup : IProcessGroup, IProgressSource
{
    /// <summary>Large tensors travel in pieces so no message exceeds a span's 2 GiB or holds a huge buffer.</summary>
    internal const long MaxMessageBytes = 64L << 20;

    readonly IPeerTransport transport;
    readonly int[] worldRanks;
    readonly ulong channel;
    readonly bool ownsTransport;
    readonly BlockingCollection<Op> queue = [];
    readonly Thread worker;
    readonly object postLock = new();
    readonly GroupServices services;
    long seq, completed;
    string? latest;
    int splits;
    volatile DistributedException? failure;
    bool disposed;

    sealed record Op(long Seq, Tensor[] Tensors, Action<Tensor[], DateTime> Run, HostWork Work);

    internal HostProcessGroup(IPeerTransport transport, int[] worldRanks, string name, Device device, TimeSpan timeout, ulong channel, bool ownsTransport,
        GroupServices? services = null)
    {
        this.services = services ?? GroupServices.None;
        this.transport = transport;
        this.worldRanks = worldRanks;
        this.channel = channel;
        this.ownsTransport = ownsTransport;
        Rank = Array.IndexOf(worldRanks, transport.Rank);
        if (Rank < 0) throw new ArgumentException($"world rank {transport.Rank} is not a member of group '{name}'");
        Name = name;
        Device = device;
        Timeout = timeout;
        worker = new Thread(WorkerLoop) { IsBackground = true, Name = $"longctx {transport.Name} '{name}' rank {Rank}" };
        worker.Start();
        this.services.Board?.Register(this);
    }

    public int Rank { get; }
    public int Size => worldRanks.Length;
    public string Backend => transport.Name;
    public Device Device { get; }
    public string Name { get; }
    public IReadOnlyList<int> WorldRanks => worldRanks;
    public TimeSpan Timeout { get; }
    public long Posted => Interlocked.Read(ref seq);
    public long Completed => Interlocked.Read(ref completed);
    public string? Latest => latest;

    public IWork AllReduceAsync(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ProcessGroupChecks.Contiguous(tensor, "AllReduce");
        ProcessGroupChecks.Reducible(tensor, op, "AllReduce");
        return Post("AllReduce", [tensor], (t, deadline) =>
        {
            if (Size == 1 || t[0].numel() == 0) return;
            var host = ToHost(t[0]);
            var work = Widens(host.dtype, op) ? host.to(ScalarType.Float32) : host;
            var chunks = Partition(work.view(-1), Size);
            RingReduceScatter(chunks, op, deadline);
            if (op == ReduceOp.Avg) chunks[Rank].div_(Size);
            RingAllGather(chunks, deadline);
            if (!ReferenceEquals(work, host)) host.copy_(work);
            if (!ReferenceEquals(host, t[0])) t[0].copy_(host);
        });
    }

    public IWork AllGatherAsync(Tensor output, Tensor input)
    {
        ProcessGroupChecks.Contiguous(output, "AllGather output");
        ProcessGroupChecks.Contiguous(input, "AllGather input");
        ProcessGroupChecks.Sizes(this, output, input, "AllGather", "output", "input");
        return Post("AllGather", [output, input], (t, deadline) =>
        {
            var outHost = t[0].device_type == DeviceType.CPU ? t[0] : empty(t[0].shape, dtype: t[0].dtype);
            var slices = Partition(outHost.view(-1), Size);
            slices[Rank].copy_(t[1].view(-1));
            RingAllGather(slices, deadline);
            if (!ReferenceEquals(outHost, t[0])) t[0].copy_(outHost);
        });
    }

    public IWork ReduceScatterAsync(Tensor output, Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        ProcessGroupChecks.Contiguous(output, "ReduceScatter output");
        ProcessGroupChecks.Contiguous(input, "ReduceScatter input");
        ProcessGroupChecks.Sizes(this, input, output, "ReduceScatter", "input", "output");
        ProcessGroupChecks.Reducible(input, op, "ReduceScatter");
        return Post("ReduceScatter", [output, input], (t, deadline) =>
        {
            var inHost = ToHost(t[1]);
            // A working copy: the input is left unchanged, as in torch.distributed.
            var work = Widens(inHost.dtype, op) ? inHost.to(ScalarType.Float32) : inHost.clone();
            var chunks = Partition(work.view(-1), Size);
            if (Size > 1) RingReduceScatter(chunks, op, deadline);
            if (op == ReduceOp.Avg) chunks[Rank].div_(Size);
            t[0].copy_(chunks[Rank].view(t[0].shape));
        });
    }

    public IWork BroadcastAsync(Tensor tensor, int root)
    {
        ProcessGroupChecks.Contiguous(tensor, "Broadcast");
        ProcessGroupChecks.Peer(this, root, "Broadcast root");
        return Post($"Broadcast(root {root})", [tensor], (t, deadline) =>
        {
            if (Size == 1) return;
            var host = ToHost(t[0]);
            if (Rank == root)
            {
                for (int p = 0; p < Size; p++)
                    if (p != root) SendTensor(p, host.view(-1));
                return;
            }
            RecvTensor(root, host.view(-1), deadline, null);
            if (!ReferenceEquals(host, t[0])) t[0].copy_(host);
        });
    }

    public IWork BatchSendRecvAsync(IReadOnlyList<P2POp> ops)
    {
        foreach (var op in ops)
        {
            ProcessGroupChecks.Contiguous(op.Tensor, op.Kind.ToString());
            ProcessGroupChecks.Peer(this, op.Peer, op.Kind + " peer");
        }
        var kinds = ops.Select(o => o.Kind).ToArray();
        var peers = ops.Select(o => o.Peer).ToArray();
        string what = "SendRecv(" + string.Join(", ", ops.Select(o => (o.Kind == P2PKind.Send ? "to " : "from ") + o.Peer)) + ")";
        return Post(what, [.. ops.Select(o => o.Tensor)], (t, deadline) =>
        {
            // Sends never wait for the receiver (the transport queues arrivals), so posting them first cannot deadlock.
            for (int i = 0; i < t.Length; i++)
                if (kinds[i] == P2PKind.Send) SendTensor(peers[i], ToHost(t[i]).view(-1));
            for (int i = 0; i < t.Length; i++)
            {
                if (kinds[i] != P2PKind.Recv) continue;
                var host = t[i].device_type == DeviceType.CPU ? t[i] : empty(t[i].shape, dtype: t[i].dtype);
                RecvTensor(peers[i], host.view(-1), deadline, null);
                if (!ReferenceEquals(host, t[i])) t[i].copy_(host);
            }
        });
    }

    public IWork BarrierAsync() => Post("Barrier", [], (_, deadline) =>
    {
        for (int p = 0; p < Size; p++)
            if (p != Rank) transport.Send(worldRanks[p], channel, ReadOnlySpan<byte>.Empty);
        for (int p = 0; p < Size; p++)
            if (p != Rank) Receive(p, 0, deadline);
    });

    public IProcessGroup Split(int color, int key, string? name = null)
    {
        if (color < 0) throw new ArgumentOutOfRangeException(nameof(color), $"Split: color {color} must be ≥ 0");
        long[] all;
        using (var mine = tensor(new long[] { color, key }))
        using (var gathered = this.AllGather(mine))
            all = gathered.data<long>().ToArray();
        var members = Enumerable.Range(0, Size).Where(i => all[2 * i] == color).OrderBy(i => all[2 * i + 1]).ThenBy(i => i);
        int index = Interlocked.Increment(ref splits);
        return new HostProcessGroup(transport, [.. members.Select(i => worldRanks[i])], name ?? $"{Name}.{index}:{color}", Device, Timeout,
            ChannelOf(channel, index, color), ownsTransport: false, services);
    }

    /// <summary>Fails this rank's pending operations and tells the peers (a rank whose own code failed).</summary>
    internal void Abort(string reason) => transport.Abort(reason);

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        services.Board?.Unregister(this);
        queue.CompleteAdding();
        worker.Join();
        queue.Dispose();
        if (ownsTransport) transport.Dispose();
    }

    IWork Post(string kind, Tensor[] tensors, Action<Tensor[], DateTime> run)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        // Detached aliases outlive the caller's dispose scope; the worker disposes them once the transport is done.
        var aliases = tensors.Select(t => t.detach().DetachFromDisposeScope()).ToArray();
        lock (postLock)
        {
            long n = Interlocked.Increment(ref seq);
            var work = new HostWork($"{kind} #{n} on group '{Name}'");
            latest = work.Description;
            queue.Add(new Op(n, aliases, run, work));
            return work;
        }
    }

    void WorkerLoop()
    {
        foreach (var op in queue.GetConsumingEnumerable())
        {
            Exception? error = failure is { } earlier
                ? new DistributedException($"{op.Work.Description} was not run: the group failed earlier: {earlier.Message}", earlier)
                : null;
            if (error is null)
            {
                try
                {
                    using var scope = NewDisposeScope();
                    op.Run(op.Tensors, DateTime.UtcNow + Timeout);
                }
                catch (Exception e)
                {
                    error = Fail(op, e);
                }
            }
            foreach (var t in op.Tensors) t.Dispose();
            Interlocked.Exchange(ref completed, op.Seq);
            op.Work.Complete(error);
        }
    }

    DistributedException Fail(Op op, Exception e)
    {
        string reason = e is PeerFailureException ? e.Message : $"{e.GetType().Name}: {e.Message}";
        if (e is PeerFailureException { Kind: PeerFailureKind.Timeout })
        {
            reason = $"no progress within the {Timeout.TotalSeconds:0.###} s timeout: {reason}";
            if (services.Board is { } board) reason += " — " + board.Diagnose(Name, op.Seq, worldRanks);
        }
        string where = Name == "world" ? $"rank {Rank}" : $"rank {transport.Rank} (rank {Rank} of {Size} in '{Name}')";
        var ex = new DistributedException($"{where}: {op.Work.Description} ({Backend}) failed: {reason}", e);
        failure ??= ex;
        // Tell the peers at once (they would otherwise wait for their own timeout), unless they are why we failed.
        if (e is not PeerFailureException { Kind: PeerFailureKind.Aborted }) transport.Abort(ex.Message);
        services.OnFailure?.Invoke(ex);
        return ex;
    }

    // Ring reduce-scatter: after n-1 steps rank r holds chunk r reduced over every rank.
    void RingReduceScatter(Tensor[] chunks, ReduceOp op, DateTime deadline)
    {
        int n = Size, r = Rank, next = (r + 1) % n, prev = (r + n - 1) % n;
        for (int s = 0; s < n - 1; s++)
        {
            SendTensor(next, chunks[Mod(r - s - 1, n)]);
            RecvTensor(prev, chunks[Mod(r - s - 2, n)], deadline, op);
        }
    }

    // Ring all-gather: rank r starts with chunk r and ends with all of them.
    void RingAllGather(Tensor[] chunks, DateTime deadline)
    {
        int n = Size, r = Rank, next = (r + 1) % n, prev = (r + n - 1) % n;
        for (int s = 0; s < n - 1; s++)
        {
            SendTensor(next, chunks[Mod(r - s, n)]);
            RecvTensor(prev, chunks[Mod(r - s - 1, n)], deadline, null);
        }
    }

    void SendTensor(int peer, Tensor flat)
    {
        long n = flat.numel(), per = Math.Max(1, MaxMessageBytes / flat.element_size());
        if (n == 0) transport.Send(worldRanks[peer], channel, ReadOnlySpan<byte>.Empty);
        for (long off = 0; off < n; off += per)
            transport.Send(worldRanks[peer], channel, flat.narrow(0, off, Math.Min(per, n - off)).bytes);
    }

    /// <summary>Receives into <paramref name="flat"/>, or combines what arrives into it when <paramref name="combine"/> is set.</summary>
    void RecvTensor(int peer, Tensor flat, DateTime deadline, ReduceOp? combine)
    {
        long n = flat.numel(), per = Math.Max(1, MaxMessageBytes / flat.element_size());
        if (n == 0) Receive(peer, 0, deadline);
        for (long off = 0; off < n; off += per)
        {
            var piece = flat.narrow(0, off, Math.Min(per, n - off));
            var message = Receive(peer, piece.numel() * piece.element_size(), deadline);
            if (combine is not ReduceOp op)
            {
                message.CopyTo(piece.bytes);
                continue;
            }
            using var incoming = empty_like(piece);
            message.CopyTo(incoming.bytes);
            switch (op)
            {
                case ReduceOp.Sum or ReduceOp.Avg: piece.add_(incoming); break;
                case ReduceOp.Max: piece.copy_(maximum(piece, incoming)); break;
                case ReduceOp.Min: piece.copy_(minimum(piece, incoming)); break;
            }
        }
    }

    byte[] Receive(int peer, long expectedBytes, DateTime deadline)
    {
        var message = transport.Receive(worldRanks[peer], channel, deadline);
        if (message.Length != expectedBytes)
            throw new PeerFailureException(PeerFailureKind.Mismatch, worldRanks[peer],
                $"rank {worldRanks[peer]} sent {message.Length} bytes where this rank expects {expectedBytes}: the ranks passed tensors of different shapes or dtypes, or posted different operations");
        return message;
    }

    static Tensor ToHost(Tensor t) => t.device_type == DeviceType.CPU ? t : t.cpu();

    static bool Widens(ScalarType dtype, ReduceOp op) => op is ReduceOp.Sum or ReduceOp.Avg && dtype is ScalarType.BFloat16 or ScalarType.Float16;

    /// <summary><paramref name="n"/> consecutive views of a flat tensor, sizes differing by at most one element.</summary>
    static Tensor[] Partition(Tensor flat, int n)
    {
        long total = flat.numel();
        return [.. Enumerable.Range(0, n).Select(i => flat.narrow(0, i * total / n, (i + 1) * total / n - i * total / n))];
    }

    static int Mod(int a, int n) => ((a % n) + n) % n;

    /// <summary>A sub-group's channel: the same on every member (FNV-1a of parent, split index and color).</summary>
    static ulong ChannelOf(ulong parent, int index, int color)
    {
        ulong h = 14695981039346656037UL;
        foreach (var v in new[] { parent, (ulong)index, (ulong)color })
            for (int b = 0; b < 8; b++) h = (h ^ ((v >> (8 * b)) & 0xff)) * 1099511628211UL;
        return h;
    }
}
