using System.Text.Json;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using LongContext.Training.Checkpoints;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Optim;
using LongContext.Training.Plan;
using LongContext.Training.Reports;
using TorchSharp;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TrainingTestKit;
using LongContext.Formats.Safetensors;

namespace LongContext.Tests.Training;

public class TrainerTests
{
    static readonly IAttentionBackend Sdpa = new SdpaAttentionBackend();

    [Fact]
    public void Two_accumulated_half_batches_give_the_gradient_of_one_full_batch()
    {
        using var dir = new TempDir();
        // Rows mask different label counts, so per-micro-batch means would weight tokens unequally.
        var full = new SyntheticDataSource(2, 12, maskEvery: 3);
        var fullBatch = full.Next();
        var half = new SyntheticDataSource(1, 12, maskEvery: 3);
        var halves = new[] { half.Next(), half.Next() };
        Assert.Equal(fullBatch.InputIds, halves[0].InputIds.Concat(halves[1].InputIds));
        Assert.NotEqual(halves[0].PredictedTokens, halves[1].PredictedTokens);

        using var modelA = NewModel(seed: 3);
        using var modelB = NewModel(seed: 3);
        using var a = new Trainer(modelA, full, Sdpa, Options(Path.Combine(dir.Path, "a")));
        using var b = new Trainer(modelB, half, Sdpa, Options(Path.Combine(dir.Path, "b")) with { GradientAccumulation = 2 });
        var (lossA, countA) = a.AccumulateGradients([fullBatch]);
        var (lossB, countB) = b.AccumulateGradients(halves);

        Assert.Equal(countA, countB);
        Assert.Equal(lossA, lossB, 5);
        var gradsB = modelB.NamedTensors();
        foreach (var (name, p) in modelA.NamedTensors())
        {
            var ga = p.grad!;
            var gb = gradsB[name].grad!;
            Assert.True(ga.allclose(gb, rtol: 1e-4, atol: 1e-7), $"{name}: max diff {(ga - gb).abs().max().item<float>()}");
        }
        // The scale is the token mean: doubling the tokens (same batch twice) keeps the gradient.
        using var modelC = NewModel(seed: 3);
        using var c = new Trainer(modelC, half, Sdpa, Options(Path.Combine(dir.Path, "c")));
        c.AccumulateGradients([fullBatch, fullBatch]);
        var gc = modelC.NamedTensors()["model.layers.0.mlp.down_proj.weight"].grad!;
        Assert.True(gc.allclose(modelA.NamedTensors()["model.layers.0.mlp.down_proj.weight"].grad!, rtol: 1e-4, atol: 1e-7));
    }

    [Fact]
    public void Default_loss_is_the_summed_cross_entropy_of_predicted_tokens()
    {
        using var model = NewModel(seed: 1);
        var host = new SyntheticDataSource(2, 8, maskEvery: 2).Next();
        using var scope = NewDisposeScope();
        var batch = DeviceBatch.Upload(host, CPU, Sdpa);
        var sum = new CrossEntropyLoss().LossSum(model, batch).item<float>();
        // Reference: log-softmax of the logits, picked at each label, by hand.
        using var _ = no_grad();
        var logp = nn.functional.log_softmax(model.Logits(model.Forward(batch.InputIds, Sdpa)), -1).reshape(16, -1);
        double expected = 0;
        for (int i = 0; i < 16; i++)
            if (host.Labels[i] != TrainingBatch.IgnoreIndex) expected -= logp[i, host.Labels[i]].item<float>();
        Assert.Equal(expected, sum, 3);
        Assert.True(host.PredictedTokens is > 0 and < 16);
    }

    [Fact]
    public void Training_lowers_the_loss_on_repeating_data()
    {
        using var dir = new TempDir();
        using var model = NewModel(seed: 2);
        var data = new SyntheticDataSource(2, 16, sequencesPerEpoch: 2);
        using var trainer = new Trainer(model, data, Sdpa, Options(dir.Path, maxSteps: 12) with { LearningRate = 2e-2, WarmupSteps = 2, WeightDecay = 0 });
        var result = trainer.Run();
        Assert.False(result.Interrupted);
        Assert.Equal(12, result.FinalStep);
        Assert.True(result.Steps[^1].Loss < result.Steps[0].Loss - 1.0, string.Join(" ", result.Steps.Select(s => $"{s.Loss:F3}/{s.GradNorm:F2}/{s.LearningRate:E1}")));
        Assert.Equal(Math.Log(256), result.Steps[0].Loss, 0); // a random init predicts ~uniformly
    }

    [Fact]
    public void Resuming_after_an_interruption_reproduces_the_uninterrupted_run_bit_for_bit()
    {
        using var dir = new TempDir();
        var options = Options("", maxSteps: 6) with { GradientAccumulation = 2, MaxGradNorm = 0.5, WeightDecay = 0.1 };

        // Uninterrupted: 6 steps.
        using var straightModel = NewModel(seed: 5);
        using var straight = new Trainer(straightModel, new SyntheticDataSource(2, 8, maskEvery: 5), Sdpa, options with { OutDir = Path.Combine(dir.Path, "straight") });
        var all = straight.Run();

        // Interrupted after step 3 (Ctrl-C while step 3 runs: it finishes, saves, returns).
        var outDir = Path.Combine(dir.Path, "resumed");
        using var cts = new CancellationTokenSource();
        using var firstModel = NewModel(seed: 5);
        using (var first = new Trainer(firstModel, new SyntheticDataSource(2, 8, maskEvery: 5), Sdpa, options with { OutDir = outDir },
            progress: new RecordingProgress(p => { if (p.Step == 3) cts.Cancel(); })))
        {
            var part1 = first.Run(cts.Token);
            Assert.True(part1.Interrupted);
            Assert.Equal(3, part1.FinalStep);
            Assert.EndsWith("step-000003", part1.LastCheckpoint);
        }

        // A new process: other initial weights and a fresh data source, resumed from the checkpoint.
        using var secondModel = NewModel(seed: 99);
        var data = new SyntheticDataSource(2, 8, maskEvery: 5);
        using var second = new Trainer(secondModel, data, Sdpa, options with { OutDir = outDir });
        Assert.True(second.ResumeLatest());
        Assert.Equal(3, second.Step);
        var part2 = second.Run();
        Assert.False(part2.Interrupted);
        Assert.Equal(3, part2.StartStep);

        var logged = MetricsLog.Read(Path.Combine(outDir, MetricsLog.FileName));
        Assert.Equal(all.Steps.Select(s => s.Step), logged.Select(s => s.Step));
        Assert.Equal(all.Steps.Select(s => s.Loss), logged.Select(s => s.Loss));          // exact, not approximate
        Assert.Equal(all.Steps.Select(s => s.GradNorm), logged.Select(s => s.GradNorm));
        Assert.Equal(all.Steps.Select(s => s.LearningRate), logged.Select(s => s.LearningRate));
        Assert.Equal(all.Steps[^1].TokensSeen, logged[^1].TokensSeen);
        var resumedWeights = secondModel.NamedTensors();
        foreach (var (name, p) in straightModel.NamedTensors())
            Assert.True(p.SameAs(resumedWeights[name]), $"{name} differs after resume");
        var resumedState = ((AdamW)second.Optimizer).StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (name, t) in ((AdamW)straight.Optimizer).StateTensors())
            Assert.True(t.SameAs(resumedState[name]), $"{name} differs after resume");
    }

    [Fact]
    public void Bf16_training_resumes_exactly_through_its_saved_fp32_masters()
    {
        using var dir = new TempDir();
        var options = Options("", maxSteps: 2) with { WarmupSteps = 0 };
        using var straightModel = NewModel(seed: 6, dtype: ScalarType.BFloat16);
        using var straight = new Trainer(straightModel, new SyntheticDataSource(1, 8), Sdpa, options with { OutDir = Path.Combine(dir.Path, "a") });
        var all = straight.Run();

        var outDir = Path.Combine(dir.Path, "b");
        using (var firstModel = NewModel(seed: 6, dtype: ScalarType.BFloat16))
        using (var first = new Trainer(firstModel, new SyntheticDataSource(1, 8), Sdpa, options with { OutDir = outDir, MaxSteps = 2 }))
        {
            first.TrainStep();
            first.SaveCheckpoint();
        }
        using var optimizerFile = LongContext.Core.Weights.SafetensorsFile.Open(Path.Combine(outDir, "checkpoints", "step-000001", RunCheckpointer.OptimizerFileName));
        Assert.Contains("master.model.embed_tokens.weight", optimizerFile.Names);
        Assert.Equal(LongContext.Formats.Safetensors.SafetensorsDtype.F32, optimizerFile.GetInfo("master.model.embed_tokens.weight").Dtype);

        using var secondModel = NewModel(seed: 1, dtype: ScalarType.BFloat16);
        using var second = new Trainer(secondModel, new SyntheticDataSource(1, 8), Sdpa, options with { OutDir = outDir });
        Assert.True(second.ResumeLatest());
        var rest = second.Run();
        Assert.Equal(all.Steps[1].Loss, rest.Steps.Single().Loss);
        var masters = ((AdamW)second.Optimizer).StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (name, t) in ((AdamW)straight.Optimizer).StateTensors())
            Assert.True(t.SameAs(masters[name]), name);
        var weights = secondModel.NamedTensors();
        foreach (var (name, p) in straightModel.NamedTensors())
            Assert.True(p.SameAs(weights[name]), name);
    }

    [Fact]
    public void Checkpoints_are_atomic_keep_the_last_K_and_hold_model_optimizer_and_state()
    {
        using var dir = new TempDir();
        using var model = NewModel(seed: 4);
        var data = new SyntheticDataSource(1, 8);
        using var trainer = new Trainer(model, data, Sdpa, Options(dir.Path, maxSteps: 5) with { SaveEvery = 2, KeepLast = 2 });
        var result = trainer.Run();

        var root = Path.Combine(dir.Path, RunCheckpointer.CheckpointsFolder);
        Assert.Equal(["step-000004", "step-000005"], Directory.GetDirectories(root).Select(d => Path.GetFileName(d)).Order().ToArray());
        Assert.Equal(Path.Combine(root, "step-000005"), result.LastCheckpoint);
        var manifest = CheckpointStore.ReadManifest(result.LastCheckpoint!);
        Assert.Equal(5, manifest.Step);
        Assert.Equal(["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"], manifest.Files.Select(f => f.Name).ToArray());
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(result.LastCheckpoint!, TrainerState.FileName)));
        Assert.Equal(5, state.RootElement.GetProperty("step").GetInt32());
        Assert.Equal(5 * 8, state.RootElement.GetProperty("tokens_seen").GetInt64());
        Assert.Equal(5, state.RootElement.GetProperty("data_cursor").GetProperty("sequence").GetInt64());
        // The checkpoint's weights folder loads as an HF model.
        using var loaded = ModelLoader.Load(result.LastCheckpoint!, CPU, ScalarType.Float32);
        Assert.True(loaded.NamedTensors()["lm_head.weight"].SameAs(model.NamedTensors()["lm_head.weight"]));
    }

    [Fact]
    public void A_folder_without_manifest_is_not_a_checkpoint_and_damage_is_reported()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(dir.Path);
        store.Save(1, d => File.WriteAllText(Path.Combine(d, "a.bin"), "abc"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "step-000002"));            // crashed before its manifest
        Directory.CreateDirectory(Path.Combine(dir.Path, "step-000003.tmp"));        // crashed mid-write
        Assert.Equal(1, store.Latest()!.Step);
        Assert.Throws<CheckpointException>(() => CheckpointStore.ReadManifest(Path.Combine(dir.Path, "step-000002")));
        File.WriteAllText(Path.Combine(dir.Path, "step-000001", "a.bin"), "abcdef");
        var e = Assert.Throws<CheckpointException>(() => CheckpointStore.ReadManifest(Path.Combine(dir.Path, "step-000001")));
        Assert.Contains("a.bin", e.Message);
        store.Save(4, _ => { });
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "step-000003.tmp")));  // stale temp folders are cleared
    }

    [Fact]
    public void Resuming_with_different_options_is_refused_with_the_difference_named()
    {
        using var dir = new TempDir();
        using (var model = NewModel())
        using (var t = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 1)))
            t.Run();
        using var other = NewModel();
        using var changed = new Trainer(other, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 1) with { LearningRate = 5e-4 });
        var e = Assert.Throws<CheckpointException>(() => changed.ResumeLatest());
        Assert.Contains("learning_rate: checkpoint 0.001, now 0.0005", e.Message);

        using var shaped = new Trainer(other, new SyntheticDataSource(2, 8), Sdpa, Options(dir.Path, maxSteps: 1));
        Assert.Contains("data.batch_size", Assert.Throws<CheckpointException>(() => shaped.ResumeLatest()).Message);
    }

    [Fact]
    public void Metrics_are_logged_per_step_with_throughput_mfu_memory_and_a_loss_curve()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        var progress = new RecordingProgress();
        using var trainer = new Trainer(model, new SyntheticDataSource(2, 8), Sdpa,
            Options(dir.Path, maxSteps: 3) with { PeakFlopsPerSecond = 1e12 }, progress: progress);
        var result = trainer.Run();

        var lines = File.ReadAllLines(Path.Combine(dir.Path, "metrics.jsonl"));
        Assert.Equal(3, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        foreach (var key in new[] { "step", "loss", "lr", "grad_norm", "tokens", "tokens_seen", "tokens_per_s", "mfu", "peak_memory_bytes" })
            Assert.True(first.RootElement.TryGetProperty(key, out _), key);
        var m = result.Steps[1];
        Assert.Equal(16, m.Tokens);
        Assert.Equal(32, m.TokensSeen);
        Assert.Equal(16 / m.StepSeconds, m.TokensPerSecond, 6);
        Assert.Equal(FlopModel.TrainingFlopsPerToken(model.Config, 8) * m.TokensPerSecond / 1e12, m.Mfu!.Value, 9);
        Assert.True(m.PeakMemoryBytes > 0);
        Assert.Equal("process_peak_working_set", m.MemoryKind);
        Assert.Equal([1, 2, 3], progress.Reports.Select(p => p.Step));
        Assert.Equal(TimeSpan.Zero, progress.Reports[^1].Eta);
        var saved = JsonSerializer.Deserialize<TrainingOptions>(File.ReadAllText(Path.Combine(dir.Path, RunCheckpointer.OptionsFileName)), TrainingOptions.JsonOptions);
        Assert.Equal(trainer.Options, saved);
        var png = File.ReadAllBytes(result.LossCurvePath!);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }

    [Fact]
    public void A_fresh_run_refuses_an_out_dir_that_holds_checkpoints()
    {
        using var dir = new TempDir();
        using (var model = NewModel())
        using (var t = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 1)))
            t.Run();
        using var again = NewModel();
        using var fresh = new Trainer(again, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 1));
        var e = Assert.Throws<ConfigException>(() => fresh.Run());
        Assert.Contains("already holds checkpoints (up to step 1)", e.Message);
        Assert.Single(MetricsLog.Read(fresh.MetricsPath));
    }

    [Fact]
    public void Resume_drops_metrics_lines_past_the_checkpoint()
    {
        using var dir = new TempDir();
        using (var model = NewModel())
        using (var t = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 4) with { SaveEvery = 2 }))
            t.Run();
        // Pretend the run died after step 4's metrics but before its checkpoint.
        Directory.Delete(Path.Combine(dir.Path, "checkpoints", "step-000004"), recursive: true);
        using var again = NewModel();
        using var resumed = new Trainer(again, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 4) with { SaveEvery = 2 });
        Assert.True(resumed.ResumeLatest());
        Assert.Equal([1, 2], MetricsLog.Read(resumed.MetricsPath).Select(s => s.Step));
    }

    [Fact]
    public void The_loss_seam_receives_every_micro_batch_and_drives_the_gradients()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        var calls = new List<long[]>();
        var inner = new CrossEntropyLoss();
        var seam = new DelegateLossComputer((m, batch) =>
        {
            calls.Add(batch.InputIds.shape);
            return inner.LossSum(m, batch) * 0.0; // a loss with no gradient leaves the weights to decay only
        });
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 2) with { GradientAccumulation = 3, WeightDecay = 0 }, loss: seam);
        var before = Snapshot(model);
        var result = trainer.Run();
        Assert.Equal(6, calls.Count);
        Assert.All(calls, s => Assert.Equal([1L, 8L], s));
        Assert.All(result.Steps, s => Assert.Equal(0.0, s.GradNorm));
        foreach (var (name, p) in model.NamedTensors())
            Assert.True(p.SameAs(before[name]), name);
    }

    [Fact]
    public void A_non_finite_loss_stops_training_without_touching_the_weights()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        var inner = new CrossEntropyLoss();
        var nan = new DelegateLossComputer((m, batch) => inner.LossSum(m, batch) * double.NaN);
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 2), loss: nan);
        var before = Snapshot(model);
        var e = Assert.Throws<LongContextException>(() => trainer.Run());
        Assert.Contains("step 1: loss NaN", e.Message);
        Assert.Equal(0, trainer.Step);
        foreach (var (name, p) in model.NamedTensors())
            Assert.True(p.SameAs(before[name]), name);
    }

    [Fact]
    public void Only_parameters_the_filter_allows_are_trained()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        var before = Snapshot(model);
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 1),
            trainable: n => n.Contains("layers.1.", StringComparison.Ordinal));
        trainer.Run();
        foreach (var (name, p) in model.NamedTensors())
            Assert.Equal(name.Contains("layers.1.", StringComparison.Ordinal), !p.SameAs(before[name]));
    }

    [Fact]
    public void A_step_without_predicted_tokens_is_an_error()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 1), Sdpa, Options(dir.Path, maxSteps: 1));
        Assert.Throws<LongContextException>(() => trainer.TrainStep());
    }
}
