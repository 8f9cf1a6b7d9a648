using System.Diagnostics;
using LongContext.Parallel.Distributed;
using TorchSharp;
using static LongContext.Parallel.Diagnostics.CollectiveReference;
using static TorchSharp.torch;

namespace LongContext.Tests.Parallel;

/// <summary>What every host-transport process group must do, checked against references computed directly.</summary>
public abstract class CollectiveContractTests
{
    protected static readonly TimeSpan Short = TimeSpan.FromSeconds(2);

    protected abstract T[] Run<T>(int worldSize, Func<IProcessGroup, T> body, TimeSpan? timeout = null);

    void Run(int worldSize, Action<IProcessGroup> body, TimeSpan? timeout = null) => Run<bool>(worldSize, g => { body(g); return true; }, timeout);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void AllReduce_matches_the_reference_for_every_op_and_gives_every_rank_identical_bits(int n)
    {
        foreach (var op in Enum.GetValues<ReduceOp>())
            foreach (long[] shape in new[] { new long[] { 5, 7 }, [2], [] })
            {
                var results = Run(n, g =>
                {
                    var x = Input(g.Rank, shape);
                    g.AllReduce(x, op);
                    return x.clone();
                });
                using var expected = Reduce(n, shape, ScalarType.Float32, op);
                Assert.True(Error(results[0], expected) < 1e-6, $"{op} {string.Join('x', shape)} at world {n}");
                foreach (var r in results) Assert.True(Same(r, results[0]), "ranks differ");
            }
    }

    [Fact]
    public void AllReduce_of_bf16_accumulates_in_fp32_and_int64_sums_exactly()
    {
        var bf = Run(4, g => { var x = Input(g.Rank, [64], ScalarType.BFloat16); g.AllReduce(x); return x.clone(); });
        using var expectedBf = Reduce(4, [64], ScalarType.BFloat16, ReduceOp.Sum);
        Assert.Equal(ScalarType.BFloat16, bf[0].dtype);
        Assert.True(Error(bf[0], expectedBf) < 8e-3); // one bf16 rounding of the exact sum
        var ints = Run(3, g => { var x = Input(g.Rank, [9], ScalarType.Int64); g.AllReduce(x, ReduceOp.Max); return x.clone(); });
        using var expectedInts = Reduce(3, [9], ScalarType.Int64, ReduceOp.Max);
        Assert.Equal(0, Error(ints[2], expectedInts));
        Assert.Throws<ArgumentException>(() => Run(2, g => g.AllReduce(zeros(3, ScalarType.Int64), ReduceOp.Avg)));
    }

    [Theory]
    [InlineData(2, ScalarType.Float32)]
    [InlineData(3, ScalarType.BFloat16)]
    [InlineData(4, ScalarType.Int32)]
    public void AllGather_concatenates_every_rank_on_dim_0_into_a_given_or_a_new_tensor(int n, ScalarType dtype)
    {
        var results = Run(n, g =>
        {
            var x = Input(g.Rank, [2, 3], dtype);
            var given = empty([2 * n, 3], dtype: dtype);
            g.AllGather(given, x);
            var fresh = g.AllGather(x);
            Assert.Equal(new long[] { 2 * n, 3 }, fresh.shape);
            Assert.True(Same(fresh, given));
            return given.clone();
        });
        using var expected = Gather(n, [2, 3], dtype);
        foreach (var r in results) Assert.True(Same(r, expected));
    }

    [Theory]
    [InlineData(2, ReduceOp.Sum)]
    [InlineData(4, ReduceOp.Avg)]
    [InlineData(3, ReduceOp.Max)]
    public void ReduceScatter_leaves_slice_rank_of_the_reduction_and_the_input_unchanged(int n, ReduceOp op)
    {
        var results = Run(n, g =>
        {
            var x = Input(g.Rank, [3 * n, 2]);
            var before = x.clone();
            var output = empty([3, 2]);
            g.ReduceScatter(output, x, op);
            Assert.True(Same(x, before), "input modified");
            return output.clone();
        });
        using var full = Reduce(n, [3 * n, 2], ScalarType.Float32, op);
        for (int r = 0; r < n; r++)
            Assert.True(Error(results[r], full.narrow(0, 3 * r, 3)) < 1e-6, $"rank {r}");
    }

    [Fact]
    public void Broadcast_copies_the_root_tensor_to_every_rank()
    {
        var results = Run(4, g => { var x = Input(g.Rank, [4, 4], ScalarType.BFloat16); g.Broadcast(x, root: 2); return x.clone(); });
        using var expected = Input(2, [4, 4], ScalarType.BFloat16);
        foreach (var r in results) Assert.True(Same(r, expected));
    }

    [Fact]
    public void Batched_send_recv_runs_a_ring_both_ways_and_keeps_per_peer_order()
    {
        const int n = 4;
        var results = Run(n, g =>
        {
            int next = (g.Rank + 1) % n, prev = (g.Rank + n - 1) % n;
            var a = Input(g.Rank, [8], salt: 1);
            var b = Input(g.Rank, [3], salt: 2);
            var (fromPrevA, fromPrevB, fromNext, self) = (empty(8), empty(3), empty(8), empty(3));
            // Two messages to the same peer arrive in posting order; a send to oneself is allowed.
            g.BatchSendRecv([P2POp.Recv(fromPrevA, prev), P2POp.Send(a, next), P2POp.Send(b, next), P2POp.Recv(fromPrevB, prev),
                P2POp.Send(a, prev), P2POp.Recv(fromNext, next), P2POp.Send(b, g.Rank), P2POp.Recv(self, g.Rank)]);
            return (fromPrevA.clone(), fromPrevB.clone(), fromNext.clone(), self.clone());
        });
        for (int r = 0; r < n; r++)
        {
            Assert.True(Same(results[r].Item1, Input((r + n - 1) % n, [8], salt: 1)));
            Assert.True(Same(results[r].Item2, Input((r + n - 1) % n, [3], salt: 2)));
            Assert.True(Same(results[r].Item3, Input((r + 1) % n, [8], salt: 1)));
            Assert.True(Same(results[r].Item4, Input(r, [3], salt: 2)));
        }
    }

    [Fact]
    public void Async_work_keeps_its_tensors_alive_after_their_dispose_scope_ends()
    {
        var results = Run(2, g =>
        {
            if (g.Rank == 1) Thread.Sleep(300); // rank 0's gather is still pending when its scope ends
            var output = empty([4, 5]);
            IWork work;
            using (NewDisposeScope())
            {
                var input = Input(g.Rank, [2, 5]);
                work = g.AllGatherAsync(output, input);
            }
            using var second = g.AllReduceAsync(output);
            Assert.False(g.Rank == 0 && work.IsCompleted);
            second.Wait();
            work.Wait(); // already done: operations complete in posting order
            work.Dispose();
            return output.clone();
        });
        using var expected = Gather(2, [2, 5], ScalarType.Float32) * 2;
        Assert.True(Error(results[0], expected) < 1e-6);
        Assert.True(Same(results[0], results[1]));
    }

    [Fact]
    public void Barrier_returns_only_after_every_rank_arrived()
    {
        var arrived = new long[3];
        var left = Run(3, g =>
        {
            if (g.Rank == 2) Thread.Sleep(200);
            arrived[g.Rank] = Stopwatch.GetTimestamp();
            g.Barrier();
            return Stopwatch.GetTimestamp();
        });
        Assert.All(left, t => Assert.True(t >= arrived.Max()));
    }

    [Fact]
    public void Split_orders_members_by_key_and_sub_groups_run_independently()
    {
        var results = Run(4, g =>
        {
            // Even and odd ranks, each half ranked in reverse order of world rank.
            using var sub = g.Split(color: g.Rank % 2, key: -g.Rank, name: "parity");
            var x = full(1, (double)g.Rank);
            sub.AllReduce(x);
            var order = sub.AllGather(tensor(new long[] { g.Rank }));
            return (sub.Rank, sub.Size, sub.Name, x.item<float>(), order.data<long>().ToArray(), sub.WorldRanks.ToArray());
        });
        Assert.Equal((1, 2, "parity", 2f), (results[0].Item1, results[0].Item2, results[0].Item3, results[0].Item4));
        Assert.Equal(0, results[2].Item1);
        Assert.Equal(4f, results[1].Item4);
        Assert.Equal(new long[] { 2, 0 }, results[0].Item5);
        Assert.Equal(new long[] { 3, 1 }, results[3].Item5);
        Assert.Equal(new[] { 3, 1 }, results[1].Item6);
    }

    [Fact]
    public void Device_mesh_builds_dp_and_cp_groups_dp_major()
    {
        var results = Run(4, g =>
        {
            using var mesh = DeviceMesh.Create(g, ParallelDims.Resolve(g.Size, dp: -1, cp: 2));
            // Posted on both sub-groups before waiting on either: their queues are independent.
            var (a, b) = (full(1, (double)g.Rank), full(1, (double)g.Rank));
            using var wa = mesh.Cp.AllReduceAsync(a);
            using var wb = mesh.Dp.AllReduceAsync(b);
            wb.Wait();
            wa.Wait();
            return (mesh.DpRank, mesh.CpRank, mesh.Cp.WorldRanks.ToArray(), mesh.Dp.WorldRanks.ToArray(), a.item<float>(), b.item<float>());
        });
        Assert.Equal((1, 0), (results[2].Item1, results[2].Item2));
        Assert.Equal(new[] { 2, 3 }, results[3].Item3);
        Assert.Equal(new[] { 1, 3 }, results[3].Item4);
        Assert.Equal(5f, results[3].Item5); // cp {2,3}
        Assert.Equal(4f, results[3].Item6); // dp {1,3}
    }

    [Fact]
    public void Ranks_passing_different_sizes_fail_with_a_mismatch_not_a_wrong_result()
    {
        var e = Assert.Throws<DistributedException>(() => Run(2, g => g.Broadcast(ones(g.Rank == 0 ? 4 : 5), root: 0), timeout: Short));
        Assert.Contains("rank 0 sent 16 bytes where this rank expects 20", e.Message);
    }
}
