using System.CommandLine;
using System.Text.Json;
using LongContext.Core.Diagnostics;
using LongContext.Core.Runtime;
using LongContext.Parallel.Diagnostics;
using LongContext.Parallel.Distributed;
using LongContext.Parallel.Launch;
using TorchSharp;

namespace LongContext.Cli.Commands;

/// <summary>
/// `longctx selftest dist`: every collective checked against a reference, across N ranks. Without launcher variables
/// it starts the ranks itself through the launcher (or as threads with --threads); under `longctx launch`, torchrun or
/// srun it is one of the ranks. On CUDA the NCCL group's results are also compared with a CPU group's.
/// </summary>
public static class SelfTestDistCommand
{
    public sealed record Report(string Device, string Backend, int WorldSize, bool Passed, IReadOnlyList<SelfTestCheck> Checks);

    /// <summary>Where a launched rank 0 leaves its report for the process that started the ranks.</summary>
    const string ReportVariable = "LONGCTX_SELFTEST_OUT";

    public static Command Create()
    {
        var worldSize = new Option<int>("--world-size") { Description = "Ranks to start (ignored under a launcher, which decides)", DefaultValueFactory = _ => 2 };
        var device = new Option<string>("--device") { Description = "cpu (TCP group) or cuda (NCCL group, one GPU per rank; also compared with a CPU group)", DefaultValueFactory = _ => "cpu" };
        var threads = new Option<bool>("--threads") { Description = "Run the ranks as threads of this process (in-process group) instead of processes" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds an operation may wait for a peer before the group fails", DefaultValueFactory = _ => 60 };
        var simulate = new Option<string?>("--simulate-failure") { Description = "Check the watchdog: exit (a rank kills itself mid-collective) or hang (a rank stops posting); the others must fail naming it" };
        var failureRank = new Option<int>("--failure-rank") { Description = "The rank that fails with --simulate-failure (default: the last)", DefaultValueFactory = _ => -1 };
        simulate.AcceptOnlyFromAmong("exit", "hang");
        var cmd = new Command("dist", "Check the distributed runtime: all-reduce/all-gather/reduce-scatter/broadcast/send-recv/split/barrier and async overlap against references, over N ranks.");
        foreach (var o in new Option[] { worldSize, device, threads, timeout, simulate, failureRank }) cmd.Options.Add(o);
        cmd.SetHandler((parse, _) =>
        {
            var t = TimeSpan.FromSeconds(parse.GetValue(timeout));
            string deviceSpec = parse.GetValue(device)!;
            bool json = parse.GetValue(CliCommon.Json);
            if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("WORLD_SIZE")))
                return AsRank(deviceSpec, t, parse.GetValue(simulate), parse.GetValue(failureRank), json);
            int n = parse.GetValue(worldSize);
            if (n < 1) throw new DistributedException($"--world-size {n}: at least one rank.");
            if (parse.GetValue(simulate) is not null && n < 2) throw new DistributedException("--simulate-failure needs --world-size 2 or more: the other ranks must detect the failure.");
            if (parse.GetValue(threads))
            {
                var dev = TorchRuntime.ResolveDevice(deviceSpec);
                var checks = ThreadProcessGroup.Run(n, g => DistributedSelfTest.Run(g), t, dev)[0];
                return Print(new Report(dev.ToString(), "thread", n, checks.All(c => c.Passed), checks), json);
            }
            return Spawn(n, deviceSpec, parse.GetValue(simulate), parse.GetValue(failureRank), t, json);
        });
        return cmd;
    }

    static int AsRank(string deviceSpec, TimeSpan timeout, string? simulate, int failureRank, bool json)
    {
        var dev = TorchRuntime.ResolveDevice(deviceSpec);
        using var ctx = DistributedContext.Initialize(dev, new DistributedOptions(Timeout: timeout));

        var world = ctx.World;
        if (simulate is not null) DistributedSelfTest.SimulateFailure(world, simulate, failureRank < 0 ? world.Size - 1 : failureRank);
        // NCCL results are compared with a CPU group over the same ranks: TCP through the same store, or in-process at size 1.
        using var cpu = world.Backend != "nccl" ? null
            : world.Size == 1 ? ThreadProcessGroup.Create(1, timeout)[0]
            : TcpProcessGroup.Create(ctx.Store!, ctx.Rank, world.Size, timeout, prefix: "selftest-tcp");
        var checks = DistributedSelfTest.Run(world, cpu);
        var report = new Report(ctx.Device.ToString(), world.Backend, world.Size, checks.All(c => c.Passed), checks);
        if (ctx.IsMain)
        {
            if (Environment.GetEnvironmentVariable(ReportVariable) is { Length: > 0 } path)
            {
                File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(report, CliCommon.JsonOptions));
                File.Move(path + ".tmp", path, overwrite: true);
            }
            else Print(report, json);
        }
        return report.Passed ? 0 : 1;
    }

    static int Spawn(int n, string deviceSpec, string? simulate, int failureRank, TimeSpan timeout, bool json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"longctx-selftest-dist-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        try
        {
            var (program, prefix) = LongctxExecutable.Resolve();
            List<string> args = [.. prefix, "selftest", "dist", "--device", deviceSpec, "--timeout", timeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)];
            if (simulate is not null) args.AddRange(["--simulate-failure", simulate, "--failure-rank", failureRank.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            bool cuda = deviceSpec.StartsWith("cuda", StringComparison.OrdinalIgnoreCase);
            var options = new LaunchOptions(n, Gpus: cuda ? "auto" : "none", Environment: new Dictionary<string, string> { [ReportVariable] = path });
            int code = Launcher.Run(options, program, args, Console.Out, Console.Error);
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"selftest dist: rank 0 wrote no report (the ranks exited with code {code}; their output is above)");
                return code != 0 ? code : 1;
            }
            var report = JsonSerializer.Deserialize<Report>(File.ReadAllText(path), CliCommon.JsonOptions)!;
            int printed = Print(report, json);
            return code != 0 ? code : printed;
        }
        finally
        {
            File.Delete(path);
        }
    }

    static int Print(Report report, bool json)
    {
        if (json) CliCommon.WriteJson(report);
        else SelfTestCommand.Render(report.Checks, $"{report.WorldSize} rank(s), {report.Backend} on {report.Device}");
        return report.Passed ? 0 : 1;
    }
}
