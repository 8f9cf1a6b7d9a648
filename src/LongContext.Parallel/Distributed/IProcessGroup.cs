using LongContext.Core.Native;
using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>
/// A set of ranks that run collectives together (torch.distributed's ProcessGroup). Every member must post the same
/// collectives in the same order; point-to-point batches only need their peers to post the matching halves.
/// Implementations: <see cref="ThreadProcessGroup"/> (ranks as threads of one process, for tests), the TCP group
/// (processes over sockets, CPU) and the NCCL group (one process per GPU).
/// <para>
/// Tensors must be contiguous and live on <see cref="Device"/> (the thread and TCP groups also accept CUDA tensors
/// and stage them through host memory). Operations are asynchronous: each returns an <see cref="IWork"/> that keeps
/// its tensors alive until the transport has consumed them, so a dispose scope may end while the operation runs.
/// Do not modify an input, or read an output, before <see cref="IWork.Wait()"/>. The synchronous forms are the
/// extension methods in <see cref="ProcessGroupExtensions"/>.
/// </para>
/// </summary>
public interface IProcessGroup : IDisposable
{
    /// <summary>This process's (or thread's) rank in the group, 0 ≤ Rank &lt; Size.</summary>
    int Rank { get; }
    int Size { get; }
    /// <summary>"thread", "tcp", "nccl" or "single".</summary>
    string Backend { get; }
    /// <summary>Where the group's tensors live: cuda:k for NCCL, cpu otherwise.</summary>
    Device Device { get; }
    /// <summary>"world", or the name given to <see cref="Split"/> (shown in every error message).</summary>
    string Name { get; }
    /// <summary>The world rank of each member, indexed by group rank.</summary>
    IReadOnlyList<int> WorldRanks { get; }
    /// <summary>How long an operation may wait for a peer before the group is aborted with an error naming it.</summary>
    TimeSpan Timeout { get; }

    /// <summary>Combines <paramref name="tensor"/> across ranks in place; every rank ends with the same values.</summary>
    IWork AllReduceAsync(Tensor tensor, ReduceOp op = ReduceOp.Sum);

    /// <summary>
    /// Concatenates every rank's <paramref name="input"/> along dim 0 into <paramref name="output"/> (rank order);
    /// output holds Size × input's elements, same dtype.
    /// </summary>
    IWork AllGatherAsync(Tensor output, Tensor input);

    /// <summary>
    /// Reduces <paramref name="input"/> (Size × output's elements, seen as Size slices along dim 0) across ranks and
    /// leaves slice <see cref="Rank"/> of the result in <paramref name="output"/>.
    /// </summary>
    IWork ReduceScatterAsync(Tensor output, Tensor input, ReduceOp op = ReduceOp.Sum);

    /// <summary>Copies <paramref name="tensor"/> of rank <paramref name="root"/> into every other rank's tensor.</summary>
    IWork BroadcastAsync(Tensor tensor, int root);

    /// <summary>
    /// Posts sends and receives together (NCCL group semantics: none of them blocks the others, so a ring's send to
    /// the next rank and receive from the previous one cannot deadlock). Completes when all have.
    /// </summary>
    IWork BatchSendRecvAsync(IReadOnlyList<P2POp> ops);

    /// <summary>Completes once every rank has entered the barrier.</summary>
    IWork BarrierAsync();

    /// <summary>
    /// Collective: ranks passing the same <paramref name="color"/> (≥ 0) form a new group, ranked by
    /// (<paramref name="key"/>, this group's rank). The new group has its own queue/stream and its own timeout
    /// watchdog; dispose it before its parent.
    /// </summary>
    IProcessGroup Split(int color, int key, string? name = null);
}

/// <summary>A pending operation of an <see cref="IProcessGroup"/>.</summary>
public interface IWork : IDisposable
{
    /// <summary>"AllReduce #12 on 'world'": what the operation is, for messages.</summary>
    string Description { get; }

    /// <summary>True once the operation finished (successfully or not).</summary>
    bool IsCompleted { get; }

    /// <summary>
    /// Makes the results usable by the caller: on CUDA (NCCL) the current stream waits for the communication
    /// stream without blocking the host, as torch's <c>Work.wait()</c>; on the host transports it blocks until done.
    /// Throws <see cref="DistributedException"/> when the operation failed. Idempotent.
    /// </summary>
    void Wait();

    /// <summary>As <see cref="Wait()"/>, ordering <paramref name="stream"/> instead of the current stream.</summary>
    void Wait(CudaStream stream);

    /// <summary>Blocks the host until the operation has finished; throws when it failed.</summary>
    void Synchronize();
}
