using System.Diagnostics;
using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>Runs one body per rank on its own thread and dispose scope; the first failure (by time) is rethrown.</summary>
internal static class RankThreads
{
    /// <param name="connect">Makes rank r's group (on rank r's thread: a TCP rendezvous blocks until all ranks join).</param>
    /// <param name="onFailure">Called on the failing rank's thread, so the others can be told at once.</param>
    public static T[] Run<T>(int worldSize, Func<int, IProcessGroup> connect, Func<IProcessGroup, T> body, Action<int, IProcessGroup?, Exception> onFailure)
    {
        var results = new T[worldSize];
        var errors = new (Exception Error, long At)?[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(r => new Thread(() =>
        {
            IProcessGroup? group = null;
            try
            {
                group = connect(r);
                using var scope = NewDisposeScope();
                results[r] = body(group);
                KeepTensors(results[r]);
            }
            catch (Exception e)
            {
                errors[r] = (e, Stopwatch.GetTimestamp());
                onFailure(r, group, e);
            }
            finally
            {
                group?.Dispose();
            }
        }) { IsBackground = true, Name = $"longctx rank {r}" }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        if (errors.Where(e => e is not null).OrderBy(e => e!.Value.At).FirstOrDefault() is { } first)
            ExceptionDispatchInfo.Capture(first.Error).Throw();
        return results;
    }

    /// <summary>Takes a result's tensors (itself, a tuple's items or a sequence's elements) out of the rank's scope.</summary>
    static void KeepTensors(object? result)
    {
        switch (result)
        {
            case Tensor t: t.DetachFromDisposeScope(); break;
            case System.Runtime.CompilerServices.ITuple tuple:
                for (int i = 0; i < tuple.Length; i++) KeepTensors(tuple[i]);
                break;
            case IEnumerable<Tensor> many:
                foreach (var t in many) t.DetachFromDisposeScope();
                break;
        }
    }
}
