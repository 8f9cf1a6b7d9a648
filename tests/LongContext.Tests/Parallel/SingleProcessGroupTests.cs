using LongContext.Parallel.Distributed;
using static LongContext.Parallel.Diagnostics.CollectiveReference;
using static TorchSharp.torch;

namespace LongContext.Tests.Parallel;

public class SingleProcessGroupTests
{
    [Fact]
    public void Without_launcher_variables_the_context_is_one_rank_whose_collectives_are_local()
    {
        using var ctx = DistributedContext.Initialize(CPU);
        var g = ctx.World;
        Assert.Equal(("single", 0, 1, false, true), (g.Backend, g.Rank, g.Size, ctx.IsDistributed, ctx.IsMain));
        using var x = Input(0, [3, 4]);
        using var before = x.clone();
        g.AllReduce(x, ReduceOp.Avg);
        Assert.True(Same(x, before));
        using var gathered = g.AllGather(x);
        Assert.True(Same(gathered, x));
        using var scattered = empty([3, 4]);
        g.ReduceScatter(scattered, x);
        Assert.True(Same(scattered, x));
        using var received = empty([12]);
        g.BatchSendRecv([P2POp.Send(x, 0), P2POp.Recv(received, 0)]);
        Assert.True(Same(received, x.reshape(12)));
        Assert.Throws<ArgumentException>(() => g.BatchSendRecv([P2POp.Send(x, 0)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => g.Broadcast(x, root: 1));
        using var sub = g.Split(0, 0, "cp");
        Assert.Equal(("cp", 1), (sub.Name, sub.Size));
        g.Barrier();
    }
}
