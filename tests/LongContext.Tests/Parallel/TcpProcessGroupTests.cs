using System.Diagnostics;
using LongContext.Parallel.Distributed;
using LongContext.Parallel.Distributed.Store;
using static TorchSharp.torch;

namespace LongContext.Tests.Parallel;

/// <summary>The TCP group with its ranks as threads of the test process (real sockets on loopback, one store).</summary>
public class TcpProcessGroupTests : CollectiveContractTests
{
    protected override T[] Run<T>(int worldSize, Func<IProcessGroup, T> body, TimeSpan? timeout = null) => RunTcp(worldSize, body, timeout);

    internal static T[] RunTcp<T>(int worldSize, Func<IProcessGroup, T> body, TimeSpan? timeout = null)
    {
        using var server = TcpStoreServer.Start(0);
        var stores = new TcpStore?[worldSize];
        try
        {
            return RankThreads.Run(worldSize, r =>
            {
                stores[r] = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(20));
                return TcpProcessGroup.Create(stores[r]!, r, worldSize, timeout ?? TimeSpan.FromSeconds(30));
            }, body, (r, g, e) => (g as HostProcessGroup)?.Abort($"rank {r} failed: {e.Message}"));
        }
        finally
        {
            foreach (var s in stores) s?.Dispose();
        }
    }

    [Fact]
    public async Task Store_set_get_add_wait_and_delete_across_connections()
    {
        using var host = TcpStore.Connect("127.0.0.1", 0, TimeSpan.FromSeconds(5), hostServer: true);
        using var other = TcpStore.Connect("127.0.0.1", host.Port, TimeSpan.FromSeconds(5));
        var waiter = Task.Run(() => other.GetString("late", TimeSpan.FromSeconds(10)));
        Thread.Sleep(100);
        Assert.False(waiter.IsCompleted);
        host.SetString("late", "here");
        Assert.Equal("here", await waiter);
        Assert.Equal(3, host.Add("n", 3));
        Assert.Equal(5, other.Add("n", 2));
        Assert.Null(other.TryGet("missing"));
        Assert.True(other.Delete("late"));
        Assert.Null(host.TryGetString("late"));
        var sw = Stopwatch.StartNew();
        Assert.Contains("'never' was not set within 0.3 s", Assert.Throws<DistributedException>(() => other.Get("never", TimeSpan.FromMilliseconds(300))).Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void A_store_nobody_hosts_fails_naming_the_address_and_the_variables_to_check()
    {
        int port = FreePort();
        var e = Assert.Throws<DistributedException>(() => TcpStore.Connect("127.0.0.1", port, TimeSpan.FromMilliseconds(500)));
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        Assert.Contains("MASTER_ADDR/MASTER_PORT", e.Message);
    }

    [Fact]
    public void A_rank_whose_connection_drops_mid_collective_ends_the_others_naming_it()
    {
        var messages = new string?[3];
        var sw = Stopwatch.StartNew();
        Assert.ThrowsAny<Exception>(() => RunTcp<bool>(3, g =>
        {
            try
            {
                g.AllReduce(ones(1000));
                // Rank 2 vanishes (its sockets close, as when its process dies) while the others are in an all-reduce.
                if (g.Rank == 2) { g.Dispose(); return true; }
                g.AllReduce(ones(1 << 16));
                return true;
            }
            catch (Exception ex) { messages[g.Rank] = ex.Message; throw; }
        }, timeout: TimeSpan.FromSeconds(20)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        Assert.Null(messages[2]);
        Assert.All(messages.Take(2), m => Assert.Contains("AllReduce #2 on group 'world' (tcp) failed", m));
        Assert.Contains(messages.Take(2), m => m!.Contains("rank 2 closed its connection: its process exited or was killed"));
    }

    internal static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
