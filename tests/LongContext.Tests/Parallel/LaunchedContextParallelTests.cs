using LongContext.Core.Model;
using LongContext.Training.Reports;
using static LongContext.Tests.Training.TrainingFixtures;
using static TorchSharp.torch;

namespace LongContext.Tests.Parallel;

/// <summary>
/// Context-parallel training as users run it: `longctx launch` starting CPU ranks over loopback TCP, each holding a
/// zigzag shard of every packed row, against one process training the same global batches.
/// </summary>
[Collection(CliCollection.Name)]
public class LaunchedContextParallelTests
{
    static readonly string Hf = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf");

    static string[] Pretrain(string data, string outDir, params string[] more) =>
    [
        "pretrain", "--config", Path.Combine(Hf, "models", "llama_default", "config.json"), "--tokenizer", Path.Combine(Hf, "tokenizer"),
        "--data", data, "--seq-len", "64", "--steps", "3", "--accumulation", "2", "--lr", "1e-3", "--document-mask", "--save-every", "0",
        "--device", "cpu", "--out", outDir, .. more,
    ];

    static string[] Launch(int ranks, params string[] command) => ["launch", "--nproc-per-node", $"{ranks}", "--gpus", "none", "--", .. command];

    /// <summary>The single-process run every launched one must equal (trained once for the class).</summary>
    static readonly Lazy<Task<(string Data, string OutDir)>> OneProcess = new(async () =>
    {
        var data = Corpus();
        var outDir = TempDir("cp-one");
        var (code, _, err) = await CliRun.Capture(Pretrain(data, outDir));
        Assert.True(code == 0, err);
        return (data, outDir);
    });

    // cp 2 over 2 ranks: the extend test below.
    [Theory]
    [InlineData(4, 2)]
    [InlineData(4, 4)]
    public async Task Launched_cpu_ranks_at_dp_x_cp_follow_one_process_on_packed_documents(int ranks, int cp)
    {
        var (data, one) = await OneProcess.Value;
        var outDir = TempDir($"cp{cp}-of-{ranks}");
        var (code, stdout, err) = await CliRun.Capture(Launch(ranks, Pretrain(data, outDir, "--context-parallel", $"{cp}", "--cp-attention", "ring")));
        Assert.True(code == 0, err);
        Assert.Contains($"[rank 0] context parallel: ring attention over cp = {cp} for 1 × 64 tokens (packed documents)", stdout);
        Assert.DoesNotContain("[rank 1] context parallel", stdout);

        var expected = MetricsLog.Read(Path.Combine(one, "train", MetricsLog.FileName));
        var actual = MetricsLog.Read(Path.Combine(outDir, "train", MetricsLog.FileName));
        DataParallelKit.AssertCloseSeries([.. expected.Select(m => m.Loss)], [.. actual.Select(m => m.Loss)], 1e-5, $"loss, {ranks} ranks at cp {cp} vs 1");
        Assert.Equal(expected.Select(m => m.PredictedTokens), actual.Select(m => m.PredictedTokens));
        AssertSameWeights(Path.Combine(one, "final"), Path.Combine(outDir, "final"), $"{ranks} ranks at cp {cp}");
    }

    [Fact]
    public async Task Extend_with_context_parallel_2_trains_a_stage_as_one_process_does()
    {
        var model = ModelDir();
        var data = Corpus();
        string[] Extend(string outDir) => ["extend", "--model", model, "--data", data, "--stages", "256", "--steps-per-stage", "2", "--lr", "1e-3",
            "--accumulation", "1", "--niah-depths", "0", "--device", "cpu", "--out", outDir];
        var one = TempDir("extend-one");
        var (code, _, err) = await CliRun.Capture(Extend(one));
        Assert.True(code == 0, err);
        var two = TempDir("extend-cp2");
        (code, var stdout, err) = await CliRun.Capture(Launch(2, [.. Extend(two), "--context-parallel", "2"]));
        Assert.True(code == 0, err);
        Assert.Matches(@"\[rank 0\] context parallel: (ring|allgather) attention over cp = 2 for 1 × 256 tokens, \d+/\d+ heads: auto", stdout);

        var expected = MetricsLog.Read(Path.Combine(one, "stage-256", "train", MetricsLog.FileName));
        var actual = MetricsLog.Read(Path.Combine(two, "stage-256", "train", MetricsLog.FileName));
        DataParallelKit.AssertCloseSeries([.. expected.Select(m => m.Loss)], [.. actual.Select(m => m.Loss)], 1e-5, "extend loss, cp 2 vs 1");
        AssertSameWeights(Path.Combine(one, "stage-256", "final"), Path.Combine(two, "stage-256", "final"), "extend at cp 2");
    }

    [Fact]
    public async Task Bench_train_at_context_parallel_2_trains_one_sequence_over_both_ranks_and_reports_them()
    {
        var (code, stdout, err) = await CliRun.Capture(Launch(2, "bench", "train", "--preset", "tiny", "--lengths", "64", "--steps", "1", "--warmup", "0",
            "--context-parallel", "2", "--cp-attention", "allgather", "--device", "cpu", "--json"));
        Assert.True(code == 0, err);
        var rank0 = stdout.Split('\n').Where(l => l.StartsWith("[rank 0] {", StringComparison.Ordinal)).ToList();
        var report = System.Text.Json.JsonDocument.Parse(rank0[^1]["[rank 0] ".Length..]).RootElement;
        Assert.Equal((2, 2, "cp2-allgather"), (report.GetProperty("world_size").GetInt32(), report.GetProperty("context_parallel").GetInt32(), report.GetProperty("attention").GetString()));
        var m = Assert.Single(report.GetProperty("lengths").EnumerateArray().ToList());
        Assert.False(m.TryGetProperty("error", out var error) && error.ValueKind != System.Text.Json.JsonValueKind.Null, $"error: {error}");
        Assert.True(m.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.DoesNotContain(stdout.Split('\n'), l => l.StartsWith("[rank 1] {", StringComparison.Ordinal));   // only rank 0 reports
    }

    [Fact]
    public async Task A_launched_run_refuses_a_length_that_2_cp_does_not_divide_and_a_degree_that_does_not_divide_the_world()
    {
        var outDir = TempDir("cp-bad-length");
        var args = Pretrain(Corpus(), outDir, "--context-parallel", "2");
        args[Array.IndexOf(args, "--seq-len") + 1] = "62";
        var (code, stdout, err) = await CliRun.Capture(Launch(2, args));
        Assert.NotEqual(0, code);
        Assert.Contains("--seq-len 62 is not divisible by 2·cp = 4", stdout + err);
        Assert.Contains("Use a multiple of 4: 60 or 64", stdout + err);
        Assert.False(File.Exists(Path.Combine(outDir, "train", MetricsLog.FileName)));

        // A degree that does not divide the world size: no mesh.
        (code, stdout, err) = await CliRun.Capture(Launch(2, Pretrain(Corpus(), TempDir("cp-bad-degree"), "--context-parallel", "3")));
        Assert.NotEqual(0, code);
        Assert.Contains("--context-parallel 3 does not divide the world size 2", stdout + err);
    }

    [Fact]
    public async Task Context_parallel_without_a_launcher_says_how_to_start_the_ranks()
    {
        var (code, _, err) = await CliRun.Capture(Pretrain(Corpus(), TempDir("cp-alone"), "--context-parallel", "2"));
        Assert.NotEqual(0, code);
        Assert.Contains("longctx launch --nproc-per-node 2", err);
    }

    static void AssertSameWeights(string expectedDir, string actualDir, string what)
    {
        using var scope = NewDisposeScope();
        using var expected = ModelLoader.Load(expectedDir, CPU, ScalarType.Float32);
        using var actual = ModelLoader.Load(actualDir, CPU, ScalarType.Float32);
        var a = actual.NamedTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (name, e) in expected.NamedTensors())
            Assert.True(ContextParallelKit.RelErr(a[name], e) <= 1e-5, $"{what}: {name} differs from one process (rel. error {ContextParallelKit.RelErr(a[name], e):E2})");
    }
}
