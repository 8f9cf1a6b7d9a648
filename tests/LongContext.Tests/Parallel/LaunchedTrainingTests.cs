using System.Diagnostics;
using System.Text;
using LongContext.Training.Checkpoints;
using LongContext.Training.Reports;

namespace LongContext.Tests.Parallel;

/// <summary>Data-parallel training as users run it: `longctx launch` starting CPU ranks that talk over loopback TCP.</summary>
[Collection(CliCollection.Name)]
public class LaunchedTrainingTests
{
    static readonly string Hf = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf");

    static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "longctx-tests", "launched-training", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Six small files of numbered sentences (a few thousand tokens with the fixture tokenizer).</summary>
    static string Corpus()
    {
        var dir = TempDir("data");
        for (int f = 0; f < 6; f++)
            File.WriteAllLines(Path.Combine(dir, $"doc{f}.txt"), Enumerable.Range(0, 40).Select(j =>
                $"Ship {f} left the harbour on day {j}, loaded with {3 * j + f} barrels of oil for the northern towns."));
        return dir;
    }

    static string[] Pretrain(string data, string outDir, int steps, params string[] more) =>
    [
        "pretrain", "--config", Path.Combine(Hf, "models", "llama_default", "config.json"), "--tokenizer", Path.Combine(Hf, "tokenizer"),
        "--data", data, "--seq-len", "64", "--steps", $"{steps}", "--accumulation", "2", "--lr", "1e-3", "--device", "cpu", "--out", outDir, .. more,
    ];

    [Fact]
    public async Task Two_launched_cpu_ranks_with_sharded_state_follow_one_process_accumulating_the_same_batch()
    {
        var data = Corpus();
        var one = TempDir("one");
        var two = TempDir("two");
        var (code, _, err) = await CliRun.Capture(Pretrain(data, one, 3, "--save-every", "2"));
        Assert.True(code == 0, err);
        (code, var stdout, err) = await CliRun.Capture(["launch", "--nproc-per-node", "2", "--gpus", "none", "--", .. Pretrain(data, two, 3, "--save-every", "2", "--zero", "2")]);
        Assert.True(code == 0, err);
        Assert.Contains("[rank 0] pretrain:", stdout);
        Assert.DoesNotContain("[rank 1] pretrain:", stdout);   // only rank 0 reports

        var expected = MetricsLog.Read(Path.Combine(one, "train", MetricsLog.FileName));
        var actual = MetricsLog.Read(Path.Combine(two, "train", MetricsLog.FileName));
        Assert.Equal(expected.Select(m => m.Step), actual.Select(m => m.Step));
        DataParallelKit.AssertCloseSeries([.. expected.Select(m => m.Loss)], [.. actual.Select(m => m.Loss)], 1e-5, "loss, 2 ranks vs 1");
        var manifest = CheckpointStore.ReadManifest(Path.Combine(two, "train", RunCheckpointer.CheckpointsFolder, "step-000002"));
        Assert.Equal(2, manifest.WorldSize);
        Assert.Contains(manifest.Files, f => f.Name == "optimizer-00002-of-00002.safetensors");
        Assert.True(File.Exists(Path.Combine(two, "final", "model.safetensors")));
    }

    [Fact]
    public async Task A_rank_killed_mid_step_ends_the_launched_group_with_an_error_naming_it()
    {
        var (program, prefix) = LongContext.Cli.LongctxExecutable.Resolve();
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var outDir = TempDir("killed");
        foreach (var a in prefix.Concat(["launch", "--nproc-per-node", "2", "--gpus", "none", "--", .. Pretrain(Corpus(), outDir, 100_000, "--save-every", "0")]))
            psi.ArgumentList.Add(a);
        using var launcher = Process.Start(psi)!;
        try
        {
            var stderr = new StringBuilder();
            launcher.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            launcher.BeginErrorReadLine();
            launcher.BeginOutputReadLine();
            var metrics = Path.Combine(outDir, "train", MetricsLog.FileName);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (!(File.Exists(metrics) && new FileInfo(metrics).Length > 0) && DateTime.UtcNow < deadline && !launcher.HasExited) await Task.Delay(100);
            Assert.True(File.Exists(metrics), $"the ranks did not start training: {stderr}");

            int rank1 = ChildWithRank(launcher.Id, 1);
            var clock = Stopwatch.StartNew();
            Assert.Equal(0, Kill(rank1, 9));
            Assert.True(launcher.WaitForExit(30_000), "the group did not stop within 30 s of a rank's death");
            launcher.WaitForExit();
            Assert.NotEqual(0, launcher.ExitCode);
            Assert.Contains("rank 1", stderr.ToString());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        }
        finally
        {
            if (!launcher.HasExited) launcher.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The launcher's child process whose environment says RANK=<paramref name="rank"/>.</summary>
    static int ChildWithRank(int launcher, int rank)
    {
        foreach (var task in Directory.GetDirectories($"/proc/{launcher}/task"))
        foreach (var pid in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse))
        {
            var environ = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
            if (environ.Contains($"RANK={rank}")) return pid;
        }
        throw new InvalidOperationException($"no child of {launcher} has RANK={rank}");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    static extern int Kill(int pid, int sig);
}
