using LongContext.Core.Native;
using LongContext.Parallel.Distributed;
using static TorchSharp.torch;

namespace LongContext.Parallel.Nccl;

/// <summary>
/// An NCCL operation queued on the group's communication stream. Its completion event orders other streams
/// (<see cref="Wait()"/>) without blocking the host. The tensors' aliases are held, and were recorded on the
/// communication stream for the caching allocator, until the watchdog sees the event complete.
/// </summary>
internal sealed class NcclWork : IWork
{
    readonly object gate = new();
    readonly int device;
    CudaEvent? done;
    Tensor[]? aliases;
    DistributedException? error;
    bool completed;

    internal long Seq { get; }
    internal DateTime PostedUtc { get; } = DateTime.UtcNow;
    public string Description { get; }

    internal NcclWork(string description, long seq, int device, CudaEvent done, Tensor[] aliases) =>
        (Description, Seq, this.device, this.done, this.aliases) = (description, seq, device, done, aliases);

    public bool IsCompleted { get { lock (gate) return error is not null || PollLocked(); } }

    /// <summary>Watchdog: true once the stream passed the event (the tensors are then released).</summary>
    internal bool Poll() { lock (gate) return PollLocked(); }

    internal void Fail(DistributedException e) { lock (gate) error ??= e; }

    public void Wait()
    {
        using var current = CudaStream.Current(device);
        Wait(current);
    }

    public void Wait(CudaStream stream)
    {
        lock (gate)
        {
            Throw();
            if (!completed) done!.Wait(stream);
        }
    }

    public void Synchronize()
    {
        var spin = new SpinWait();
        while (true)
        {
            lock (gate)
            {
                Throw();
                if (PollLocked()) return;
            }
            if (spin.Count < 50) spin.SpinOnce(); else Thread.Sleep(1);
        }
    }

    /// <summary>Drops the handle; an unfinished operation's event and tensors are released by the watchdog when it ends.</summary>
    public void Dispose() { }

    bool PollLocked()
    {
        if (completed) return true;
        if (done is null || !done.IsCompleted) return false;
        completed = true;
        foreach (var t in aliases ?? []) t.Dispose();
        aliases = null;
        // Finished work needs no ordering any more: Wait() skips it.
        done.Dispose();
        done = null;
        return true;
    }

    void Throw()
    {
        if (error is not null) throw new DistributedException(error.Message, error);
    }
}
