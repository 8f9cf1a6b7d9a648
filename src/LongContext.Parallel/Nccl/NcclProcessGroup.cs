using LongContext.Core.Native;
using LongContext.Parallel.Distributed;
using LongContext.Parallel.Distributed.Store;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Parallel.Nccl;

/// <summary>
/// A process group on NCCL (one process per GPU), called through P/Invoke. Operations run on the group's own CUDA
/// stream: it first waits for the caller's current stream (which produced the inputs), then runs the NCCL call inside
/// ncclGroupStart/End, then records a completion event that <see cref="IWork.Wait()"/> makes the caller's stream wait
/// on, so communication overlaps compute. A watchdog thread polls the events and ncclCommGetAsyncError; an operation
/// older than <see cref="Timeout"/> or an asynchronous NCCL error aborts every communicator of the process
/// (ncclCommAbort, which also frees kernels stuck on a dead peer) and fails pending work with a message naming the
/// operation and, from the heartbeats, the rank at fault. Needs the native add-on (streams, events, data pointers).
/// </summary>
public sealed class NcclProcessGroup : IProcessGroup, IProgressSource
{
    /// <summary>The communicators of one process: the first failure aborts them all.</summary>
    sealed class Family
    {
        public readonly List<NcclProcessGroup> Members = [];
        public DistributedException? Failure;
    }

    IntPtr comm;
    readonly CudaStream stream;
    readonly IntPtr rawStream;
    readonly int device;
    readonly int[] worldRanks;
    readonly int worldRank;
    readonly Family family;
    readonly GroupServices services;
    readonly object postLock = new();
    readonly LinkedList<NcclWork> pending = new();
    readonly Thread watchdog;
    readonly ManualResetEventSlim stop = new(false);
    Tensor? barrierBuffer;
    long seq, completed;
    string? latest;
    bool aborted, disposed;

    NcclProcessGroup(IntPtr comm, int device, int[] worldRanks, int worldRank, string name, TimeSpan timeout, Family family, GroupServices services)
    {
        (this.comm, this.device, this.worldRanks, this.worldRank, Name, Timeout, this.family, this.services) =
            (comm, device, worldRanks, worldRank, name, timeout, family, services);
        Rank = Array.IndexOf(worldRanks, worldRank);
        Device = torch.device(DeviceType.CUDA, device);
        stream = CudaStream.Create(device);
        rawStream = stream.RawHandle;
        lock (family) family.Members.Add(this);
        services.Board?.Register(this);
        watchdog = new Thread(WatchdogLoop) { IsBackground = true, Name = $"longctx nccl watchdog '{name}'" };
        watchdog.Start();
    }

    /// <summary>
    /// Collective over the world: rank 0 makes the unique id and puts it in <paramref name="store"/>, every rank
    /// then joins the communicator on CUDA device <paramref name="device"/>.
    /// </summary>
    public static NcclProcessGroup Create(IStore store, int rank, int size, int device, TimeSpan? timeout = null) =>
        Create(store, rank, size, device, timeout ?? DistributedTimeouts.Default, GroupServices.None, "nccl");

    internal static NcclProcessGroup Create(IStore store, int rank, int size, int device, TimeSpan timeout, GroupServices services, string prefix)
    {
        if (!NcclLibrary.IsAvailable) throw new DistributedException($"the NCCL process group needs libnccl.so.2: {NcclLibrary.Status}");
        NativeAddon.Require("the NCCL process group (CUDA streams, events and raw tensor pointers)");
        CudaDevice.Set(device);
        NcclUniqueId id;
        if (rank == 0)
        {
            Check(NcclNative.GetUniqueId(out id), "ncclGetUniqueId", IntPtr.Zero);
            store.Set($"{prefix}/uid", id.ToArray());
        }
        else id = NcclUniqueId.From(store.Get($"{prefix}/uid", timeout));
        // Every rank must be here before the blocking init, or a missing one would hang it.
        store.Rendezvous($"{prefix}/init", size, timeout, "NCCL initialisation");
        var c = Blocking(() =>
        {
            CudaDevice.Set(device);
            Check(NcclNative.CommInitRank(out var made, size, id, rank), "ncclCommInitRank", IntPtr.Zero);
            return made;
        }, timeout, $"ncclCommInitRank (rank {rank} of {size}, cuda:{device})");
        return new NcclProcessGroup(c, device, [.. Enumerable.Range(0, size)], rank, "world", timeout, new Family(), services);
    }

    public int Rank { get; }
    public int Size => worldRanks.Length;
    public string Backend => "nccl";
    public Device Device { get; }
    public string Name { get; }
    public IReadOnlyList<int> WorldRanks => worldRanks;
    public TimeSpan Timeout { get; }
    public long Posted => Interlocked.Read(ref seq);
    public long Completed => Interlocked.Read(ref completed);
    public string? Latest => latest;

    public IWork AllReduceAsync(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        CheckTensor(tensor, "AllReduce");
        ProcessGroupChecks.Reducible(tensor, op, "AllReduce");
        int dtype = ReduceType(tensor.dtype, "AllReduce");
        ulong count = (ulong)tensor.numel();
        return Enqueue("AllReduce", [tensor], p => NcclNative.AllReduce(p[0], p[0], (nuint)count, dtype, OpCode(op), comm, rawStream));
    }

    public IWork AllGatherAsync(Tensor output, Tensor input)
    {
        CheckTensor(output, "AllGather output");
        CheckTensor(input, "AllGather input");
        ProcessGroupChecks.Sizes(this, output, input, "AllGather", "output", "input");
        ulong bytes = Bytes(input);
        return Enqueue("AllGather", [output, input], p => NcclNative.AllGather(p[1], p[0], (nuint)bytes, NcclNative.Uint8, comm, rawStream));
    }

    public IWork ReduceScatterAsync(Tensor output, Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        CheckTensor(output, "ReduceScatter output");
        CheckTensor(input, "ReduceScatter input");
        ProcessGroupChecks.Sizes(this, input, output, "ReduceScatter", "input", "output");
        ProcessGroupChecks.Reducible(input, op, "ReduceScatter");
        int dtype = ReduceType(input.dtype, "ReduceScatter");
        ulong count = (ulong)output.numel();
        return Enqueue("ReduceScatter", [output, input], p => NcclNative.ReduceScatter(p[1], p[0], (nuint)count, dtype, OpCode(op), comm, rawStream));
    }

    public IWork BroadcastAsync(Tensor tensor, int root)
    {
        CheckTensor(tensor, "Broadcast");
        ProcessGroupChecks.Peer(this, root, "Broadcast root");
        ulong bytes = Bytes(tensor);
        return Enqueue($"Broadcast(root {root})", [tensor], p => NcclNative.Broadcast(p[0], p[0], (nuint)bytes, NcclNative.Uint8, root, comm, rawStream));
    }

    public IWork BatchSendRecvAsync(IReadOnlyList<P2POp> ops)
    {
        foreach (var op in ops)
        {
            CheckTensor(op.Tensor, op.Kind.ToString());
            ProcessGroupChecks.Peer(this, op.Peer, op.Kind + " peer");
        }
        var list = ops.ToArray();
        string what = "SendRecv(" + string.Join(", ", list.Select(o => (o.Kind == P2PKind.Send ? "to " : "from ") + o.Peer)) + ")";
        return Enqueue(what, [.. list.Select(o => o.Tensor)], p =>
        {
            for (int i = 0; i < list.Length; i++)
            {
                var n = (nuint)Bytes(list[i].Tensor);
                int rc = list[i].Kind == P2PKind.Send
                    ? NcclNative.Send(p[i], n, NcclNative.Uint8, list[i].Peer, comm, rawStream)
                    : NcclNative.Recv(p[i], n, NcclNative.Uint8, list[i].Peer, comm, rawStream);
                if (rc != NcclNative.Success) return rc;
            }
            return NcclNative.Success;
        });
    }

    /// <summary>An all-reduce of one element; the synchronous <c>Barrier()</c> then waits for it on the host.</summary>
    public IWork BarrierAsync()
    {
        barrierBuffer ??= zeros(1, ScalarType.Float32, Device).DetachFromDisposeScope();
        return AllReduceAsync(barrierBuffer);
    }

    public IProcessGroup Split(int color, int key, string? name = null)
    {
        if (color < 0) throw new ArgumentOutOfRangeException(nameof(color), $"Split: color {color} must be ≥ 0");
        long[] all;
        using (var mine = tensor(new long[] { color, key }, device: Device))
        using (var gathered = this.AllGather(mine))
        using (var host = gathered.cpu())
            all = host.data<long>().ToArray();
        // ncclCommSplit orders the new ranks by key, then by rank in this communicator.
        int[] members = [.. Enumerable.Range(0, Size).Where(i => all[2 * i] == color).OrderBy(i => all[2 * i + 1]).ThenBy(i => i).Select(i => worldRanks[i])];
        IntPtr child;
        lock (postLock)
        {
            ThrowIfFailed();
            child = Blocking(() =>
            {
                CudaDevice.Set(device);
                Check(NcclNative.CommSplit(comm, color, key, out var made), "ncclCommSplit", comm);
                return made;
            }, Timeout, $"ncclCommSplit of '{Name}'");
        }
        return new NcclProcessGroup(child, device, members, worldRank, name ?? $"{Name}.{color}", Timeout, family, services);
    }

    IWork Enqueue(string kind, Tensor[] tensors, Func<IntPtr[], int> launch)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ThrowIfFailed();
        if (CudaDevice.Current() != device) CudaDevice.Set(device);
        // Detached aliases outlive the caller's dispose scope; the watchdog releases them once the stream is past them.
        var aliases = tensors.Select(t => t.detach().DetachFromDisposeScope()).ToArray();
        var pointers = aliases.Select(NativeAddon.DataPointer).ToArray();
        lock (postLock)
        {
            ThrowIfFailed();
            long n = Interlocked.Increment(ref seq);
            string description = $"{kind} #{n} on group '{Name}'";
            using (var current = CudaStream.Current(device))
            using (var ready = new CudaEvent(enableTiming: false))
            {
                ready.Record(current);
                ready.Wait(stream);
            }
            foreach (var a in aliases) stream.RecordTensor(a);
            int rc = NcclNative.GroupStart();
            int launched = rc == NcclNative.Success ? launch(pointers) : rc;
            int ended = rc == NcclNative.Success ? NcclNative.GroupEnd() : rc;
            if (launched != NcclNative.Success || ended != NcclNative.Success)
            {
                int bad = launched != NcclNative.Success ? launched : ended;
                foreach (var a in aliases) a.Dispose();
                var e = FailAll($"{description} could not be queued: {NcclNative.ErrorString(bad)} ({NcclNative.LastError(comm)})");
                throw new DistributedException(e.Message, e);
            }
            var done = new CudaEvent(enableTiming: false);
            done.Record(stream);
            var work = new NcclWork(description, n, device, done, aliases);
            lock (pending) pending.AddLast(work);
            latest = description;
            return work;
        }
    }

    void WatchdogLoop()
    {
        var poll = TimeSpan.FromMilliseconds(Math.Clamp(Timeout.TotalMilliseconds / 20, 10, 100));
        while (!stop.Wait(poll))
        {
            if (family.Failure is not null) continue;
            int asyncError = NcclNative.Success;
            // Under the post lock, so an abort elsewhere cannot free the communicator during the call; skipped while a post runs.
            if (Monitor.TryEnter(postLock))
            {
                try { if (!aborted) NcclNative.CommGetAsyncError(comm, out asyncError); }
                finally { Monitor.Exit(postLock); }
            }
            if (asyncError is not (NcclNative.Success or NcclNative.InProgress))
            {
                FailAll($"NCCL reported an asynchronous error on group '{Name}': {NcclNative.ErrorString(asyncError)} ({NcclNative.LastError(comm)})");
                continue;
            }
            NcclWork? late = null;
            lock (pending)
            {
                while (pending.First is { } first && first.Value.Poll())
                {
                    Interlocked.Exchange(ref completed, first.Value.Seq);
                    pending.RemoveFirst();
                }
                if (pending.First?.Value is { } oldest && DateTime.UtcNow - oldest.PostedUtc > Timeout) late = oldest;
            }
            if (late is not null)
            {
                string why = services.Board?.Diagnose(Name, late.Seq, worldRanks) ?? "no heartbeats to tell which rank is behind";
                FailAll($"{late.Description} did not complete within {Timeout.TotalSeconds:F0} s — {why}");
            }
        }
    }

    /// <summary>Aborts every communicator of this process and fails their pending work (first failure wins).</summary>
    DistributedException FailAll(string reason)
    {
        DistributedException failure;
        lock (family)
        {
            if (family.Failure is { } earlier) return earlier;
            string where = Name == "world" ? $"rank {worldRank}" : $"rank {worldRank} (rank {Rank} of {Size} in '{Name}')";
            failure = family.Failure = new DistributedException($"{where} (nccl): {reason}");
        }
        Console.Error.WriteLine($"longctx: {failure.Message}; aborting the NCCL communicators");
        List<NcclProcessGroup> members;
        lock (family) members = [.. family.Members];
        foreach (var g in members) g.AbortComm(failure);
        services.OnFailure?.Invoke(failure);
        return failure;
    }

    void AbortComm(DistributedException failure)
    {
        // Abort frees kernels waiting on a dead peer. A post may hold the lock inside NCCL: abort anyway after a moment.
        bool locked = Monitor.TryEnter(postLock, TimeSpan.FromSeconds(1));
        try
        {
            if (!aborted && comm != IntPtr.Zero)
            {
                aborted = true;
                NcclNative.CommAbort(comm);
            }
        }
        finally { if (locked) Monitor.Exit(postLock); }
        lock (pending)
            foreach (var w in pending) w.Fail(failure);
    }

    void ThrowIfFailed()
    {
        if (family.Failure is { } f) throw new DistributedException($"group '{Name}' was aborted: {f.Message}", f);
    }

    /// <summary>Waits for queued work (bounded by the timeout), then destroys the communicator; sub-groups first.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        var deadline = DateTime.UtcNow + Timeout;
        while (family.Failure is null && DateTime.UtcNow < deadline)
        {
            lock (pending) if (pending.Count == 0 || pending.All(w => w.Poll())) break;
            Thread.Sleep(1);
        }
        stop.Set();
        watchdog.Join();
        services.Board?.Unregister(this);
        lock (postLock)
        {
            if (!aborted && comm != IntPtr.Zero)
            {
                if (family.Failure is null) NcclNative.CommDestroy(comm);
                else NcclNative.CommAbort(comm);
            }
            aborted = true;
            comm = IntPtr.Zero;
        }
        lock (family) family.Members.Remove(this);
        barrierBuffer?.Dispose();
        stream.Dispose();
    }

    void CheckTensor(Tensor t, string what)
    {
        ProcessGroupChecks.Contiguous(t, what);
        if (t.device_type != DeviceType.CUDA || CudaDevice.IndexOf(t.device) != device)
            throw new ArgumentException($"{what}: the NCCL group of this rank works on cuda:{device}, the tensor is on {t.device} (move it with .to(group.Device)).");
    }

    static ulong Bytes(Tensor t) => (ulong)(t.numel() * t.element_size());

    static int ReduceType(ScalarType dtype, string what) => dtype switch
    {
        ScalarType.Float32 => NcclNative.Float32,
        ScalarType.BFloat16 => NcclNative.Bfloat16,
        ScalarType.Float16 => NcclNative.Float16,
        ScalarType.Float64 => NcclNative.Float64,
        ScalarType.Int32 => NcclNative.Int32,
        ScalarType.Int64 => NcclNative.Int64,
        ScalarType.Int8 => NcclNative.Int8,
        ScalarType.Byte or ScalarType.Bool => NcclNative.Uint8,
        _ => throw new ArgumentException($"{what}: NCCL cannot reduce {dtype} tensors (float32/bf16/fp16/float64/int8/uint8/int32/int64/bool can be)."),
    };

    static int OpCode(ReduceOp op) => op switch
    {
        ReduceOp.Sum => NcclNative.Sum,
        ReduceOp.Avg => NcclNative.Avg,
        ReduceOp.Max => NcclNative.Max,
        ReduceOp.Min => NcclNative.Min,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    static void Check(int rc, string call, IntPtr comm)
    {
        if (rc != NcclNative.Success)
            throw new DistributedException($"{call} failed: {NcclNative.ErrorString(rc)}{(comm == IntPtr.Zero ? "" : $" ({NcclNative.LastError(comm)})")}. Set NCCL_DEBUG=INFO for NCCL's own log.");
    }

    /// <summary>Runs a blocking NCCL call on a helper thread so a peer that never joins cannot hang this one forever.</summary>
    static IntPtr Blocking(Func<IntPtr> call, TimeSpan timeout, string what)
    {
        IntPtr result = IntPtr.Zero;
        Exception? error = null;
        var t = new Thread(() =>
        {
            try { result = call(); }
            catch (Exception e) { error = e; }
        }) { IsBackground = true, Name = "longctx nccl " + what };
        t.Start();
        if (!t.Join(timeout))
            throw new DistributedException($"{what} did not finish within {timeout.TotalSeconds:F0} s: a rank died or hung during NCCL initialisation (NCCL_DEBUG=INFO shows NCCL's view).");
        if (error is not null) throw error is DistributedException d ? new DistributedException(d.Message, d) : new DistributedException($"{what}: {error.Message}", error);
        return result;
    }
}
