using System.Diagnostics;
using LongContext.Parallel.Distributed;
using LongContext.Parallel.Launch;

namespace LongContext.Tests.Parallel;

[Collection(CliCollection.Name)]
public class LauncherTests
{
    [Fact]
    public async Task Each_rank_gets_torchrun_variables_and_its_output_lines_are_prefixed()
    {
        var (code, stdout, stderr) = await CliRun.Capture("launch", "--nproc-per-node", "3", "--gpus", "none", "--exec", "--",
            "sh", "-c", "echo \"rank $RANK of $WORLD_SIZE local $LOCAL_RANK/$LOCAL_WORLD_SIZE at $MASTER_ADDR nvls=$NCCL_NVLS_ENABLE\"; echo oops >&2");
        Assert.Equal(0, code);
        for (int r = 0; r < 3; r++)
        {
            Assert.Contains($"[rank {r}] rank {r} of 3 local {r}/3 at 127.0.0.1 nvls=0", stdout);
            Assert.Contains($"[rank {r}] oops", stderr);
        }
    }

    [Fact]
    public async Task A_failing_rank_stops_the_others_and_its_exit_code_is_returned()
    {
        var sw = Stopwatch.StartNew();
        var (code, _, stderr) = await CliRun.Capture("launch", "--nproc-per-node", "3", "--gpus", "none", "--exec", "--",
            "sh", "-c", "if [ \"$RANK\" = 1 ]; then sleep 0.2; exit 7; fi; exec sleep 60");
        Assert.Equal(7, code);
        Assert.Contains("[launch] rank 1 exited with code 7; stopping the other ranks", stderr);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Sigterm_to_the_launcher_reaches_every_rank()
    {
        var (program, prefix) = LongContext.Cli.LongctxExecutable.Resolve();
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in prefix.Concat(["launch", "--nproc-per-node", "2", "--gpus", "none", "--exec", "--", "sh", "-c",
            "trap 'echo got TERM; exit 5' TERM; echo ready; while true; do sleep 0.05; done"])) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = new System.Text.StringBuilder();
        int ready = 0;
        p.OutputDataReceived += (_, e) => { if (e.Data is null) return; lock (stdout) stdout.AppendLine(e.Data); if (e.Data.EndsWith("ready")) Interlocked.Increment(ref ready); };
        p.BeginOutputReadLine();
        var errTask = p.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Volatile.Read(ref ready) < 2 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(2, ready);
        Assert.Equal(0, Kill(p.Id, 15));
        Assert.True(p.WaitForExit(20_000), "the launcher did not exit");
        p.WaitForExit();
        Assert.Equal(143, p.ExitCode);
        Assert.Contains("[rank 0] got TERM", stdout.ToString());
        Assert.Contains("[rank 1] got TERM", stdout.ToString());
        Assert.Contains("passing it to every rank", await errTask);
    }

    [Fact]
    public void Gpus_are_assigned_one_per_rank_and_user_multicast_settings_are_kept()
    {
        var envs = Launcher.ChildEnvironments(new LaunchOptions(2, Nnodes: 2, NodeRank: 1, MasterAddr: "n0", MasterPort: 4000, Gpus: "3,5",
            Environment: new Dictionary<string, string> { ["NCCL_NVLS_ENABLE"] = "1" }), out var summary);
        Assert.Equal(["3", "5"], envs.Select(e => e["CUDA_VISIBLE_DEVICES"]));
        Assert.Equal(["2", "3"], envs.Select(e => e["RANK"]));
        Assert.All(envs, e => Assert.Equal(("4", "1", "1", "1", "4000"), (e["WORLD_SIZE"], e["NCCL_NVLS_ENABLE"], e["TORCH_SYMM_MEM_DISABLE_MULTICAST"], e["GROUP_RANK"], e["MASTER_PORT"])));
        Assert.Contains("node 1 of 2 (world 4)", summary);
        Assert.Contains("2 GPU(s) are available", Assert.Throws<DistributedException>(() => Launcher.ChildEnvironments(new LaunchOptions(3, Gpus: "0,1"), out _)).Message);
        Assert.Contains("--master-addr", Assert.Throws<DistributedException>(() => Launcher.ChildEnvironments(new LaunchOptions(1, Nnodes: 2), out _)).Message);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    static extern int Kill(int pid, int sig);
}
