using System.Diagnostics;
using LongContext.Parallel.Diagnostics;
using LongContext.Parallel.Distributed;

namespace LongContext.Tests.Parallel;

/// <summary>`longctx selftest dist` across processes: the launcher, the rendezvous, the TCP group and the watchdog end to end.</summary>
[Collection(CliCollection.Name)]
public class DistributedSelfTestTests
{
    [Fact]
    public async Task Every_collective_matches_the_reference_across_two_processes_started_by_selftest_itself()
    {
        var (code, stdout, stderr) = await CliRun.Capture("selftest", "dist", "--world-size", "2", "--device", "cpu", "--timeout", "30", "--json");
        Assert.True(code == 0, stderr);
        AssertPassed(CliRun.LastJson(stdout), 2);
    }

    [Fact]
    public async Task Every_collective_matches_the_reference_across_four_processes_under_longctx_launch()
    {
        var (code, stdout, stderr) = await CliRun.Capture("launch", "--nproc-per-node", "4", "--gpus", "none", "--",
            "selftest", "dist", "--device", "cpu", "--timeout", "30", "--json");
        Assert.True(code == 0, stderr);
        // Rank 0 prints the report (every rank holds the same, max-reduced over the ranks).
        var line = stdout.Split('\n').Single(l => l.StartsWith("[rank 0] {", StringComparison.Ordinal));
        using var doc = System.Text.Json.JsonDocument.Parse(line["[rank 0] ".Length..]);
        AssertPassed(doc.RootElement, 4);
    }

    static void AssertPassed(System.Text.Json.JsonElement report, int n)
    {
        Assert.Equal(("tcp", n, true), (report.GetProperty("backend").GetString(), report.GetProperty("world_size").GetInt32(), report.GetProperty("passed").GetBoolean()));
        Assert.True(report.GetProperty("checks").GetArrayLength() >= 16);
    }

    [Fact]
    public async Task A_rank_killed_mid_collective_ends_the_others_with_an_error_naming_it()
    {
        var sw = Stopwatch.StartNew();
        var (code, _, stderr) = await CliRun.Capture("selftest", "dist", "--world-size", "3", "--device", "cpu", "--timeout", "30", "--simulate-failure", "exit");
        Assert.NotEqual(0, code);
        Assert.Contains("[launch] rank 2 exited with code 137", stderr);
        // Both survivors say which operation failed and why (rank 2 gone, directly or through the peer that saw it first).
        foreach (int r in new[] { 0, 1 })
            Assert.Matches($@"\[rank {r}\] error: rank {r}: AllReduce #1 on group 'world' \(tcp\) failed: .*rank 2", stderr);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(25), $"took {sw.Elapsed}"); // far below the 30 s timeout
    }

    [Fact]
    public async Task A_rank_that_stops_posting_times_the_others_out_naming_it()
    {
        var (code, _, stderr) = await CliRun.Capture("selftest", "dist", "--world-size", "2", "--device", "cpu", "--timeout", "2", "--simulate-failure", "hang");
        Assert.True(code == 1, stderr);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(stderr, @"\[rank 0\] error: rank 0: AllReduce #1 on group 'world' \(tcp\) failed: no progress within the 2 s timeout: rank 0 was waiting for rank 1"), stderr);
        Assert.True(stderr.Contains("rank 1 has not posted operation #1 on 'world'"), stderr);
    }

    [Fact]
    public void Thread_ranks_pass_every_check()
    {
        var checks = ThreadProcessGroup.Run(3, g => DistributedSelfTest.Run(g))[0];
        Assert.All(checks, c => Assert.True(c.Passed, $"{c.Name}: {c.Error} > {c.Tolerance} ({c.Detail})"));
    }
}
