using LongContext.Core.Diagnostics;
using LongContext.Parallel.Distributed;
using TorchSharp;
using static LongContext.Parallel.Diagnostics.CollectiveReference;
using static TorchSharp.torch;

namespace LongContext.Parallel.Diagnostics;

/// <summary>
/// `longctx selftest dist`: every collective of a group checked against results computed directly from every rank's
/// deterministic inputs, plus the properties overlap depends on (the communication stream waits for the producer;
/// tensors stay alive after their scope). Given a CPU group over the same ranks, each result is also compared with
/// the CPU group's (NCCL vs TCP, or vs the in-process group at world size 1). Errors are max-reduced across ranks, so
/// every rank reports the same table.
/// </summary>
public static class DistributedSelfTest
{
    /// <param name="SameOnCpu">Whether the CPU group's run of the check is comparable (false when the inputs depend on the device).</param>
    sealed record Check(string Name, double Tolerance, Func<IProcessGroup, Tensor> Run, Func<IProcessGroup, Tensor> Reference, bool SameOnCpu = true);

    public static IReadOnlyList<SelfTestCheck> Run(IProcessGroup group, IProcessGroup? cpuGroup = null)
    {
        var checks = Checks(group.Size);
        var errors = new double[2 * checks.Count];
        var details = new string[checks.Count];
        for (int i = 0; i < checks.Count; i++)
        {
            var c = checks[i];
            using var scope = NewDisposeScope();
            try
            {
                var got = c.Run(group).cpu();
                errors[2 * i] = Error(got, c.Reference(group));
                bool compare = cpuGroup is not null && c.SameOnCpu;
                errors[2 * i + 1] = compare ? Error(got, c.Run(cpuGroup!).cpu()) : 0;
                details[i] = $"{group.Backend}" + (compare ? $" vs reference and vs {cpuGroup!.Backend} on cpu" : "");
            }
            catch (Exception e)
            {
                errors[2 * i] = errors[2 * i + 1] = double.PositiveInfinity;
                details[i] = e.GetType().Name + ": " + e.Message;
            }
        }
        // Every rank reports the worst error over the ranks (through the CPU group when there is one, else this group).
        try
        {
            using var all = tensor(errors.Select(e => double.IsFinite(e) ? e : 1e300).ToArray());
            var reducer = cpuGroup ?? group;
            using var onDevice = all.to(reducer.Device);
            reducer.AllReduce(onDevice, ReduceOp.Max);
            errors = [.. onDevice.cpu().data<double>().ToArray().Select(e => e >= 1e300 ? double.PositiveInfinity : e)];
        }
        catch (Exception) { } // the group is broken: report this rank's own errors
        return [.. checks.Select((c, i) =>
        {
            double worst = Math.Max(errors[2 * i], errors[2 * i + 1]);
            return new SelfTestCheck($"dist-{c.Name}", worst <= c.Tolerance, double.IsFinite(worst) ? worst : null, c.Tolerance, details[i]);
        })];
    }

    static List<Check> Checks(int n)
    {
        long[] odd = [33, 7]; // chunks of uneven size in the rings
        var list = new List<Check>();
        foreach (var op in Enum.GetValues<ReduceOp>())
            list.Add(new($"all-reduce-{op.ToString().ToLowerInvariant()}-f32", 1e-5,
                g => AllReduced(g, Input(g.Rank, odd), op), _ => Reduce(n, odd, ScalarType.Float32, op)));
        list.Add(new("all-reduce-sum-bf16", 2e-2, g => AllReduced(g, Input(g.Rank, odd, ScalarType.BFloat16), ReduceOp.Sum),
            _ => Reduce(n, odd, ScalarType.BFloat16, ReduceOp.Sum)));
        list.Add(new("all-reduce-max-int64", 0, g => AllReduced(g, Input(g.Rank, [19], ScalarType.Int64), ReduceOp.Max),
            _ => Reduce(n, [19], ScalarType.Int64, ReduceOp.Max)));
        list.Add(new("all-gather-bf16", 0, g =>
        {
            var output = full([3 * n, 5], double.NaN, ScalarType.BFloat16, g.Device);
            g.AllGather(output, Input(g.Rank, [3, 5], ScalarType.BFloat16).to(g.Device));
            return output;
        }, _ => Gather(n, [3, 5], ScalarType.BFloat16)));
        list.Add(new("all-gather-new-f32", 0, g => g.AllGather(Input(g.Rank, [4, 2]).to(g.Device)), _ => Gather(n, [4, 2], ScalarType.Float32)));
        list.Add(new("reduce-scatter-sum-f32", 1e-5, g => Scattered(g, ScalarType.Float32, ReduceOp.Sum),
            g => Reduce(n, [6 * n, 3], ScalarType.Float32, ReduceOp.Sum).narrow(0, 6 * g.Rank, 6)));
        list.Add(new("reduce-scatter-avg-bf16", 2e-2, g => Scattered(g, ScalarType.BFloat16, ReduceOp.Avg),
            g => Reduce(n, [6 * n, 3], ScalarType.BFloat16, ReduceOp.Avg).narrow(0, 6 * g.Rank, 6)));
        list.Add(new("broadcast-f32", 0, g =>
        {
            var x = Input(g.Rank, [8, 8]).to(g.Device);
            g.Broadcast(x, root: n - 1);
            return x;
        }, _ => Input(n - 1, [8, 8])));
        list.Add(new("send-recv-ring-bf16", 0, g =>
        {
            int next = (g.Rank + 1) % n, prev = (g.Rank + n - 1) % n;
            var mine = Input(g.Rank, [16], ScalarType.BFloat16).to(g.Device);
            var (fromPrev, fromNext) = (empty(16, ScalarType.BFloat16, g.Device), empty(16, ScalarType.BFloat16, g.Device));
            g.BatchSendRecv([P2POp.Send(mine, next), P2POp.Recv(fromPrev, prev), P2POp.Send(mine, prev), P2POp.Recv(fromNext, next)]);
            return cat([fromPrev, fromNext]);
        }, g => cat([Input((g.Rank + n - 1) % n, [16], ScalarType.BFloat16), Input((g.Rank + 1) % n, [16], ScalarType.BFloat16)])));
        list.Add(new("split-all-reduce", 1e-5, g =>
        {
            using var sub = g.Split(color: g.Rank % 2, key: g.Rank, name: "selftest-parity");
            return AllReduced(sub, Input(g.Rank, [10]), ReduceOp.Sum);
        }, g => Enumerable.Range(0, n).Where(r => r % 2 == g.Rank % 2).Select(r => Input(r, [10]).to(ScalarType.Float64)).Aggregate((a, b) => a + b)));
        list.Add(new("async-waits-for-producer", 0, ProducerOrder, g =>
        {
            // The same gather after a full synchronisation: equal only if the async one read the finished input.
            var y = Produced(g);
            if (y.device_type == DeviceType.CUDA) torch.cuda.synchronize(y.device);
            return g.AllGather(y).cpu();
        }, SameOnCpu: false));
        list.Add(new("async-keeps-tensors-alive", 0, g =>
        {
            var output = full([2 * n, 1024], double.NaN, ScalarType.Float32, g.Device);
            IWork work;
            using (NewDisposeScope())
                work = g.AllGatherAsync(output, Input(g.Rank, [2, 1024]).to(g.Device));
            // Allocations that would reuse the input's memory if the work had not kept it.
            using (NewDisposeScope())
                for (int i = 0; i < 8; i++) full([2, 1024], 1e9, ScalarType.Float32, g.Device).add_(1);
            work.Wait();
            work.Dispose();
            return output;
        }, _ => Gather(n, [2, 1024], ScalarType.Float32), SameOnCpu: false));
        list.Add(new("barrier", 0, g =>
        {
            g.Barrier();
            return zeros(1);
        }, _ => zeros(1)));
        return list;
    }

    static Tensor AllReduced(IProcessGroup g, Tensor x, ReduceOp op)
    {
        var t = x.to(g.Device);
        g.AllReduce(t, op);
        return t;
    }

    static Tensor Scattered(IProcessGroup g, ScalarType dtype, ReduceOp op)
    {
        int n = g.Size;
        var output = full([6, 3], double.NaN, dtype, g.Device);
        g.ReduceScatter(output, Input(g.Rank, [6 * n, 3], dtype).to(g.Device), op);
        return output;
    }

    /// <summary>
    /// An input made by a chain of kernels queued just before the collective that reads it (on a GPU, tens of
    /// milliseconds of queued work the communication stream must wait for; on the CPU a token amount).
    /// </summary>
    static Tensor Produced(IProcessGroup g)
    {
        bool gpu = g.Device.type == DeviceType.CUDA;
        long size = gpu ? 4096 : 128;
        var x = Input(g.Rank, [size, size]).to(g.Device) / size;
        var y = x;
        for (int i = 0; i < (gpu ? 16 : 4); i++) y = (y.matmul(x) + x).tanh();
        return y;
    }

    static Tensor ProducerOrder(IProcessGroup g)
    {
        var y = Produced(g);
        var output = full([g.Size * y.shape[0], y.shape[1]], double.NaN, ScalarType.Float32, g.Device);
        using var work = g.AllGatherAsync(output, y);
        work.Wait();
        return output;
    }

    /// <summary>
    /// Makes <paramref name="rank"/> fail while the others are in an all-reduce: "exit" kills its process (as the
    /// OOM killer would), "hang" stops it from posting (as a deadlock would). The others must end with an error naming it.
    /// </summary>
    public static void SimulateFailure(IProcessGroup group, string kind, int rank)
    {
        using var scope = NewDisposeScope();
        var big = ones(1 << 22, ScalarType.Float32, group.Device);
        if (group.Rank == rank)
        {
            if (kind == "exit")
            {
                var work = group.AllReduceAsync(big); // peers are inside the collective when this process dies
                Thread.Sleep(50);
                Console.Error.WriteLine($"selftest: rank {rank} kills itself (simulated failure)");
                Console.Error.Flush();
                System.Diagnostics.Process.GetCurrentProcess().Kill();
            }
            Console.Error.WriteLine($"selftest: rank {rank} stops posting collectives (simulated hang)");
            Thread.Sleep(Timeout.Infinite);
        }
        group.AllReduce(big);
        group.AllReduce(big);
        throw new DistributedException($"rank {group.Rank}: the simulated failure of rank {rank} was not detected");
    }
}
