using System.Runtime.InteropServices;
using LongContext.Parallel.Distributed;

namespace LongContext.Parallel.Nccl;

/// <summary>NCCL's opaque 128-byte rendezvous token (ncclUniqueId), passed by value to ncclCommInitRank.</summary>
[StructLayout(LayoutKind.Sequential, Size = Bytes)]
internal unsafe struct NcclUniqueId
{
    public const int Bytes = 128;
    public fixed byte Internal[Bytes];

    public readonly byte[] ToArray()
    {
        var a = new byte[Bytes];
        fixed (byte* p = Internal) new ReadOnlySpan<byte>(p, Bytes).CopyTo(a);
        return a;
    }

    public static NcclUniqueId From(byte[] bytes)
    {
        if (bytes.Length != Bytes) throw new DistributedException($"NCCL unique id from the store has {bytes.Length} bytes, expected {Bytes}: another job may share this MASTER_PORT.");
        var id = new NcclUniqueId();
        bytes.CopyTo(new Span<byte>(id.Internal, Bytes));
        return id;
    }
}

/// <summary>
/// The NCCL C API (nccl.h, 2.18+) through function pointers resolved from the loaded libnccl.so.2. Codes: ncclResult_t
/// 0 = success, 7 = in progress; ncclDataType_t int8 0, uint8 1, int32 2, uint32 3, int64 4, uint64 5, float16 6,
/// float32 7, float64 8, bfloat16 9; ncclRedOp_t sum 0, prod 1, max 2, min 3, avg 4.
/// </summary>
internal static unsafe class NcclNative
{
    public const int Success = 0, InProgress = 7;
    public const int Int8 = 0, Uint8 = 1, Int32 = 2, Int64 = 4, Float16 = 6, Float32 = 7, Float64 = 8, Bfloat16 = 9;
    public const int Sum = 0, Max = 2, Min = 3, Avg = 4;

    static IntPtr Fn(string name)
    {
        if (!NcclLibrary.IsAvailable) throw new DistributedException($"NCCL is not available: {NcclLibrary.Status}");
        return NativeLibrary.TryGetExport(NcclLibrary.Handle, name, out var fn) ? fn
            : throw new DistributedException($"{NcclLibrary.Path} has no {name}: NCCL 2.18 or newer is needed (PyTorch 2.2+ ships one).");
    }

    static readonly Lazy<IntPtr> getUniqueId = new(() => Fn("ncclGetUniqueId"));
    static readonly Lazy<IntPtr> commInitRank = new(() => Fn("ncclCommInitRank"));
    static readonly Lazy<IntPtr> commSplit = new(() => Fn("ncclCommSplit"));
    static readonly Lazy<IntPtr> commDestroy = new(() => Fn("ncclCommDestroy"));
    static readonly Lazy<IntPtr> commAbort = new(() => Fn("ncclCommAbort"));
    static readonly Lazy<IntPtr> commGetAsyncError = new(() => Fn("ncclCommGetAsyncError"));
    static readonly Lazy<IntPtr> getErrorString = new(() => Fn("ncclGetErrorString"));
    static readonly Lazy<IntPtr> getLastError = new(() => Fn("ncclGetLastError"));
    static readonly Lazy<IntPtr> groupStart = new(() => Fn("ncclGroupStart"));
    static readonly Lazy<IntPtr> groupEnd = new(() => Fn("ncclGroupEnd"));
    static readonly Lazy<IntPtr> allReduce = new(() => Fn("ncclAllReduce"));
    static readonly Lazy<IntPtr> allGather = new(() => Fn("ncclAllGather"));
    static readonly Lazy<IntPtr> reduceScatter = new(() => Fn("ncclReduceScatter"));
    static readonly Lazy<IntPtr> broadcast = new(() => Fn("ncclBroadcast"));
    static readonly Lazy<IntPtr> send = new(() => Fn("ncclSend"));
    static readonly Lazy<IntPtr> recv = new(() => Fn("ncclRecv"));

    public static int GetUniqueId(out NcclUniqueId id)
    {
        fixed (NcclUniqueId* p = &id) return ((delegate* unmanaged<NcclUniqueId*, int>)getUniqueId.Value)(p);
    }

    public static int CommInitRank(out IntPtr comm, int nranks, NcclUniqueId id, int rank)
    {
        fixed (IntPtr* c = &comm) return ((delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int>)commInitRank.Value)(c, nranks, id, rank);
    }

    /// <summary>ncclCommSplit with a null config (the child inherits the parent's).</summary>
    public static int CommSplit(IntPtr comm, int color, int key, out IntPtr child)
    {
        fixed (IntPtr* c = &child) return ((delegate* unmanaged<IntPtr, int, int, IntPtr*, IntPtr, int>)commSplit.Value)(comm, color, key, c, IntPtr.Zero);
    }

    public static int CommDestroy(IntPtr comm) => ((delegate* unmanaged<IntPtr, int>)commDestroy.Value)(comm);
    public static int CommAbort(IntPtr comm) => ((delegate* unmanaged<IntPtr, int>)commAbort.Value)(comm);

    public static int CommGetAsyncError(IntPtr comm, out int error)
    {
        fixed (int* e = &error) return ((delegate* unmanaged<IntPtr, int*, int>)commGetAsyncError.Value)(comm, e);
    }

    public static string ErrorString(int result) => Marshal.PtrToStringUTF8(((delegate* unmanaged<int, IntPtr>)getErrorString.Value)(result)) ?? $"error {result}";

    public static string? LastError(IntPtr comm) => Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr, IntPtr>)getLastError.Value)(comm));

    public static int GroupStart() => ((delegate* unmanaged<int>)groupStart.Value)();
    public static int GroupEnd() => ((delegate* unmanaged<int>)groupEnd.Value)();

    public static int AllReduce(IntPtr sendBuf, IntPtr recvBuf, nuint count, int dtype, int op, IntPtr comm, IntPtr stream) =>
        ((delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)allReduce.Value)(sendBuf, recvBuf, count, dtype, op, comm, stream);

    public static int AllGather(IntPtr sendBuf, IntPtr recvBuf, nuint sendCount, int dtype, IntPtr comm, IntPtr stream) =>
        ((delegate* unmanaged<IntPtr, IntPtr, nuint, int, IntPtr, IntPtr, int>)allGather.Value)(sendBuf, recvBuf, sendCount, dtype, comm, stream);

    public static int ReduceScatter(IntPtr sendBuf, IntPtr recvBuf, nuint recvCount, int dtype, int op, IntPtr comm, IntPtr stream) =>
        ((delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)reduceScatter.Value)(sendBuf, recvBuf, recvCount, dtype, op, comm, stream);

    public static int Broadcast(IntPtr sendBuf, IntPtr recvBuf, nuint count, int dtype, int root, IntPtr comm, IntPtr stream) =>
        ((delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)broadcast.Value)(sendBuf, recvBuf, count, dtype, root, comm, stream);

    public static int Send(IntPtr buf, nuint count, int dtype, int peer, IntPtr comm, IntPtr stream) =>
        ((delegate* unmanaged<IntPtr, nuint, int, int, IntPtr, IntPtr, int>)send.Value)(buf, count, dtype, peer, comm, stream);

    public static int Recv(IntPtr buf, nuint count, int dtype, int peer, IntPtr comm, IntPtr stream) =>
        ((delegate* unmanaged<IntPtr, nuint, int, int, IntPtr, IntPtr, int>)recv.Value)(buf, count, dtype, peer, comm, stream);
}
