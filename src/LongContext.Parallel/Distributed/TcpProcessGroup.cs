using System.Net;
using LongContext.Parallel.Distributed.Store;
using LongContext.Parallel.Distributed.Transport;
using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>
/// Processes over loopback or a LAN, through TCP sockets: CPU runs on a laptop or in CI, and tests. Every
/// collective, batched send/recv and Split works on CPU tensors of any dtype (CUDA tensors are staged through host
/// memory). Production multi-GPU training uses the NCCL group; this one moves data at socket speed.
/// </summary>
public static class TcpProcessGroup
{
    /// <summary>
    /// Collective over the world: connects every pair of ranks (addresses exchanged through <paramref name="store"/>)
    /// and returns rank <paramref name="rank"/>'s world group. <paramref name="advertise"/> is the address peers
    /// reach this rank at (default: the store connection's local address, or loopback).
    /// </summary>
    public static IProcessGroup Create(IStore store, int rank, int size, TimeSpan? timeout = null, IPAddress? advertise = null, string prefix = "tcp") =>
        Create(store, rank, size, timeout, advertise, prefix, GroupServices.None);

    internal static IProcessGroup Create(IStore store, int rank, int size, TimeSpan? timeout, IPAddress? advertise, string prefix, GroupServices services)
    {
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside a world of {size}");
        var t = timeout ?? DistributedTimeouts.Default;
        advertise ??= store is TcpStore tcp ? tcp.LocalAddress : IPAddress.Loopback;
        var transport = TcpTransport.Connect(store, rank, size, advertise, t, prefix);
        return new HostProcessGroup(transport, [.. Enumerable.Range(0, size)], "world", CPU, t, channel: 1, ownsTransport: true, services);
    }
}
