using LongContext.Core.Native;
using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>
/// The group of a plain single-process run (no launcher variables): every collective is the identity or a local
/// copy on the tensors' own device, so code written against <see cref="IProcessGroup"/> runs unchanged.
/// </summary>
public sealed class SingleProcessGroup(Device device, string name = "world") : IProcessGroup
{
    public int Rank => 0;
    public int Size => 1;
    public string Backend => "single";
    public Device Device { get; } = device;
    public string Name { get; } = name;
    public IReadOnlyList<int> WorldRanks { get; } = [0];
    public TimeSpan Timeout => System.Threading.Timeout.InfiniteTimeSpan;

    public IWork AllReduceAsync(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ProcessGroupChecks.Contiguous(tensor, "AllReduce");
        ProcessGroupChecks.Reducible(tensor, op, "AllReduce");
        return Done("AllReduce");
    }

    public IWork AllGatherAsync(Tensor output, Tensor input)
    {
        ProcessGroupChecks.Contiguous(output, "AllGather output");
        ProcessGroupChecks.Sizes(this, output, input, "AllGather", "output", "input");
        output.view(-1).copy_(input.view(-1));
        return Done("AllGather");
    }

    public IWork ReduceScatterAsync(Tensor output, Tensor input, ReduceOp op = ReduceOp.Sum)
    {
        ProcessGroupChecks.Contiguous(output, "ReduceScatter output");
        ProcessGroupChecks.Sizes(this, input, output, "ReduceScatter", "input", "output");
        ProcessGroupChecks.Reducible(input, op, "ReduceScatter");
        output.view(-1).copy_(input.view(-1));
        return Done("ReduceScatter");
    }

    public IWork BroadcastAsync(Tensor tensor, int root)
    {
        ProcessGroupChecks.Peer(this, root, "Broadcast root");
        return Done("Broadcast");
    }

    /// <summary>Only sends to and receives from rank 0 itself: the i-th receive gets the i-th send.</summary>
    public IWork BatchSendRecvAsync(IReadOnlyList<P2POp> ops)
    {
        foreach (var op in ops) ProcessGroupChecks.Peer(this, op.Peer, op.Kind + " peer");
        var sends = ops.Where(o => o.Kind == P2PKind.Send).ToList();
        var recvs = ops.Where(o => o.Kind == P2PKind.Recv).ToList();
        if (sends.Count != recvs.Count) throw new ArgumentException($"SendRecv on a single-process group: {sends.Count} sends but {recvs.Count} receives (each send to rank 0 needs a matching receive).");
        for (int i = 0; i < sends.Count; i++)
        {
            if (sends[i].Tensor.numel() != recvs[i].Tensor.numel() || sends[i].Tensor.dtype != recvs[i].Tensor.dtype)
                throw new DistributedException($"SendRecv on a single-process group: send {i} has {sends[i].Tensor.numel()} {sends[i].Tensor.dtype} elements, its receive {recvs[i].Tensor.numel()} {recvs[i].Tensor.dtype}.");
            recvs[i].Tensor.view(-1).copy_(sends[i].Tensor.reshape(-1));
        }
        return Done("SendRecv");
    }

    public IWork BarrierAsync() => Done("Barrier");

    public IProcessGroup Split(int color, int key, string? name = null)
    {
        if (color < 0) throw new ArgumentOutOfRangeException(nameof(color), $"Split: color {color} must be ≥ 0");
        return new SingleProcessGroup(Device, name ?? $"{Name}.{color}");
    }

    public void Dispose() { }

    IWork Done(string kind) => new CompletedWork($"{kind} on group '{Name}'");

    sealed class CompletedWork(string description) : IWork
    {
        public string Description { get; } = description;
        public bool IsCompleted => true;
        public void Wait() { }
        public void Wait(CudaStream stream) { }
        public void Synchronize() { }
        public void Dispose() { }
    }
}
