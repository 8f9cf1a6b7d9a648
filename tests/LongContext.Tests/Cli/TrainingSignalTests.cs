using System.Text.Json;

namespace LongContext.Tests.Cli;

/// <summary>
/// `longctx pretrain` as a real process interrupted by Ctrl+C (SIGINT): the step in progress finishes, a checkpoint of
/// that step is saved, the run says "interrupted; rerun to resume" and exits 130; rerunning the command resumes there.
/// </summary>
[Collection(CliCollection.Name)]
public class TrainingSignalTests
{
    static readonly string Hf = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf");

    [Fact]
    public async Task Sigint_during_pretrain_saves_the_current_step_and_a_rerun_resumes_from_it()
    {
        var root = Path.Combine(Path.GetTempPath(), "longctx-tests", "training-signal-" + Guid.NewGuid().ToString("N")[..8]);
        var data = Directory.CreateDirectory(Path.Combine(root, "data")).FullName;
        for (int f = 0; f < 4; f++)
            File.WriteAllText(Path.Combine(data, $"doc{f}.txt"), string.Concat(Enumerable.Repeat($"The miller counted {f} sacks of grain before the winter came. ", 60)));
        var outDir = Path.Combine(root, "run");
        string[] args = ["pretrain", "--config", Path.Combine(Hf, "models", "llama_default", "config.json"), "--tokenizer", Path.Combine(Hf, "tokenizer"),
            "--data", data, "--seq-len", "32", "--steps", "24", "--save-every", "1000", "--device", "cpu", "--out", outDir];
        var metrics = Path.Combine(outDir, "train", "metrics.jsonl");
        try
        {
            int interruptedAt;
            using (var first = CliProcess.Start(args))
            {
                for (var deadline = DateTime.UtcNow.AddSeconds(120); !(File.Exists(metrics) && File.ReadAllLines(metrics).Length >= 2); await Task.Delay(20))
                    Assert.True(DateTime.UtcNow < deadline && !first.HasExited, $"no training steps logged; stderr: {first.Stderr}");
                first.Signal("INT");
                Assert.Equal(130, await first.WaitForExitAsync(TimeSpan.FromSeconds(120)));
                Assert.Contains("interrupted; rerun to resume", first.Stdout);
                interruptedAt = File.ReadAllLines(metrics).Length;
                Assert.InRange(interruptedAt, 2, 23);
            }
            var checkpoint = Path.Combine(outDir, "train", "checkpoints", $"step-{interruptedAt:D6}");
            Assert.True(File.Exists(Path.Combine(checkpoint, "manifest.json")), $"no complete checkpoint at the interrupted step {interruptedAt}");
            Assert.False(Directory.Exists(Path.Combine(outDir, "final")), "an interrupted run must not export");

            using var rerun = CliProcess.Start([.. args, "--json"]);
            Assert.Equal(0, await rerun.WaitForExitAsync(TimeSpan.FromSeconds(300)));
            var result = CliRun.LastJson(rerun.Stdout);
            Assert.Equal(interruptedAt, result.GetProperty("resumed_from_step").GetInt32());
            Assert.Equal(24 - interruptedAt, result.GetProperty("training").GetProperty("steps_this_run").GetInt32());
            Assert.False(result.GetProperty("interrupted").GetBoolean());
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
