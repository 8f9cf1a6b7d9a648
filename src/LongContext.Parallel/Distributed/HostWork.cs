using LongContext.Core.Native;

namespace LongContext.Parallel.Distributed;

/// <summary>
/// Work of a group whose transport runs on host threads (thread and TCP groups): completion is a host event, so
/// waiting on a stream means waiting on the host.
/// </summary>
internal sealed class HostWork(string description) : IWork
{
    readonly ManualResetEventSlim done = new(false);
    Exception? error;

    public string Description { get; } = description;
    public bool IsCompleted => done.IsSet;

    internal void Complete(Exception? failure)
    {
        error = failure;
        done.Set();
    }

    public void Wait() => Synchronize();

    public void Wait(CudaStream stream) => Synchronize();

    public void Synchronize()
    {
        done.Wait();
        // A new exception, so the caller's stack shows where it waited; the worker's failure is the inner one.
        if (error is not null) throw new DistributedException(error.Message, error);
    }

    /// <summary>Waits for the operation (its tensors may still be in use until then) without throwing.</summary>
    public void Dispose() => done.Wait();
}
