namespace LongContext.Tests.Cli;

/// <summary>`selftest ring` and `bench ring` on the CPU at tiny sizes.</summary>
[Collection(CliCollection.Name)]
public class ContextParallelCommandsTests
{
    [Fact]
    public async Task Selftest_ring_passes_every_check_at_world_size_2_on_the_cpu()
    {
        var (code, output, _) = await CliRun.Capture("selftest", "ring", "--world-size", "2", "--device", "cpu", "--json");
        var report = CliRun.LastJson(output);
        var checks = report.GetProperty("checks").EnumerateArray().ToList();
        Assert.True(code == 0, output);
        Assert.True(report.GetProperty("passed").GetBoolean());
        // The length check, then ring and all-gather × fp32/bf16 × GQA 4:1/8:1 × causal/documents.
        Assert.Equal(17, checks.Count);
        Assert.Contains(checks, c => c.GetProperty("name").GetString() == "ring.allgather[N=2,8:1,docs,bf16]");
        Assert.All(checks.Skip(1), c => Assert.True(c.GetProperty("error").GetDouble() <= c.GetProperty("tolerance").GetDouble()));
    }

    [Fact]
    public async Task Selftest_ring_rejects_a_world_size_that_is_not_a_number()
    {
        var (code, _, err) = await CliRun.Capture("selftest", "ring", "--world-size", "2,x", "--device", "cpu");
        Assert.NotEqual(0, code);
        Assert.Contains("--world-size 'x'", err);
    }

    [Fact]
    public async Task Bench_ring_reports_forward_and_backward_per_world_size()
    {
        var (code, output, _) = await CliRun.Capture("bench", "ring", "--length", "48", "--world-size", "2,3", "--heads", "4", "--kv-heads", "1",
            "--head-dim", "8", "--runs", "1", "--device", "cpu", "--json");
        Assert.True(code == 0, output);
        var m = CliRun.LastJson(output).GetProperty("measurements").EnumerateArray().ToList();
        Assert.Equal(["2 forward", "2 backward", "3 forward", "3 backward"], m.Select(x => $"{x.GetProperty("world_size").GetInt32()} {x.GetProperty("pass").GetString()}"));
        Assert.All(m, x => Assert.True(x.GetProperty("ring_sum_ms").GetDouble() > 0 && x.GetProperty("ring_ratio").GetDouble() > 0));
    }

    [Fact]
    public async Task Bench_ring_rejects_a_length_the_layout_cannot_split_before_any_work()
    {
        var (code, _, err) = await CliRun.Capture("bench", "ring", "--length", "50", "--world-size", "4", "--device", "cpu");
        Assert.NotEqual(0, code);
        Assert.Contains("not divisible by 2·cp = 8", err);
    }
}
