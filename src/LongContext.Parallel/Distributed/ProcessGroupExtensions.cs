using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>Synchronous forms of the <see cref="IProcessGroup"/> operations (post, then <see cref="IWork.Wait()"/>).</summary>
public static class ProcessGroupExtensions
{
    public static void AllReduce(this IProcessGroup group, Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        using var work = group.AllReduceAsync(tensor, op);
        work.Wait();
    }

    public static void AllGather(this IProcessGroup group, Tensor output, Tensor input)
    {
        using var work = group.AllGatherAsync(output, input);
        work.Wait();
    }

    /// <summary>Returns a new tensor of shape [Size × input.shape[0], ...] holding every rank's input in rank order.</summary>
    public static Tensor AllGather(this IProcessGroup group, Tensor input)
    {
        var shape = input.shape.Length == 0 ? new[] { (long)group.Size } : (long[])input.shape.Clone();
        if (input.shape.Length > 0) shape[0] *= group.Size;
        var output = empty(shape, dtype: input.dtype, device: input.device);
        group.AllGather(output, input);
        return output;
    }

    public static void ReduceScatter(this IProcessGroup group, Tensor output, Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        using var work = group.ReduceScatterAsync(output, input, op);
        work.Wait();
    }

    public static void Broadcast(this IProcessGroup group, Tensor tensor, int root)
    {
        using var work = group.BroadcastAsync(tensor, root);
        work.Wait();
    }

    public static void BatchSendRecv(this IProcessGroup group, IReadOnlyList<P2POp> ops)
    {
        using var work = group.BatchSendRecvAsync(ops);
        work.Wait();
    }

    public static void Send(this IProcessGroup group, Tensor tensor, int peer) => group.BatchSendRecv([P2POp.Send(tensor, peer)]);

    public static void Recv(this IProcessGroup group, Tensor tensor, int peer) => group.BatchSendRecv([P2POp.Recv(tensor, peer)]);

    /// <summary>Blocks the host until every rank has reached the barrier.</summary>
    public static void Barrier(this IProcessGroup group)
    {
        using var work = group.BarrierAsync();
        work.Synchronize();
    }
}
