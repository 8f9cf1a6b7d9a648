using System.Diagnostics;
using LongContext.Parallel.Distributed;
using static TorchSharp.torch;

namespace LongContext.Tests.Parallel;

public class ThreadProcessGroupTests : CollectiveContractTests
{
    protected override T[] Run<T>(int worldSize, Func<IProcessGroup, T> body, TimeSpan? timeout = null) =>
        ThreadProcessGroup.Run(worldSize, body, timeout);

    [Fact]
    public void A_rank_that_throws_ends_the_others_at_once_naming_it()
    {
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<InvalidOperationException>(() => ThreadProcessGroup.Run(3, g =>
        {
            if (g.Rank == 1) throw new InvalidOperationException("boom on rank 1");
            g.AllReduce(ones(4));
        }, timeout: TimeSpan.FromSeconds(30)));
        Assert.Equal("boom on rank 1", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        var messages = new string?[3];
        Assert.ThrowsAny<Exception>(() => ThreadProcessGroup.Run(3, g =>
        {
            try
            {
                if (g.Rank == 1) throw new InvalidOperationException("boom");
                g.AllReduce(ones(4));
            }
            catch (Exception ex) { messages[g.Rank] = ex.Message; throw; }
        }, timeout: TimeSpan.FromSeconds(30)));
        Assert.Contains("rank 1 aborted the group: rank 1 failed: boom", messages[0]);
        Assert.Contains("AllReduce #1 on group 'world'", messages[2]);
    }

    [Fact]
    public void A_rank_that_hangs_times_out_the_collective_naming_the_rank_within_the_timeout()
    {
        var sw = Stopwatch.StartNew();
        var messages = new string?[2];
        Assert.Throws<DistributedException>(() => ThreadProcessGroup.Run(2, g =>
        {
            if (g.Rank == 1) { Thread.Sleep(1800); return; } // never posts
            try { g.AllReduce(ones(4)); }
            catch (Exception ex) { messages[g.Rank] = ex.Message; throw; }
        }, timeout: TimeSpan.FromSeconds(1)));
        Assert.Contains("AllReduce #1 on group 'world' (thread) failed: no progress within the 1 s timeout: rank 0 was waiting for rank 1", messages[0]);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4));
    }

}
