using System.Text.Json.Nodes;
using LongContext.Cli;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Optim;
using LongContext.Training.Quickstart;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Quickstart;

[Collection(CliCollection.Name)]
public class QuickstartTests
{
    [Fact]
    public void Schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        var s = new TrainingSchedule { MaxSteps = 110, PeakLearningRate = 1e-3, WarmupSteps = 10, MinLearningRateFraction = 0.1 };
        // The quickstart's schedule is the trainer's (one LR schedule in the project).
        var options = ProjectQuickstartTrainer.OptionsFor(s, "unused");
        Assert.Equal(1e-4, LrSchedule.At(0, options), 12);
        Assert.Equal(1e-3, LrSchedule.At(9, options), 12);
        Assert.Equal(1e-3, LrSchedule.At(10, options), 12);
        Assert.Equal(0.55e-3, LrSchedule.At(60, options), 12);
        Assert.Equal(1e-4, LrSchedule.At(110, options), 12);
    }

    [Fact]
    public void Raising_theta_keeps_the_weights_and_changes_only_long_range_outputs()
    {
        var o = QuickstartOptions.Fast;
        var vocab = new RecallVocabulary { KeyCount = o.KeyCount, ValueCount = o.ValueCount };
        var config = QuickstartRunner.ModelConfigFor(o, vocab);
        using var model = ModelLoader.CreateRandom(config, CPU, ScalarType.Float32, seed: 1, std: 0.2);
        using var raised = QuickstartRunner.WithConfig(model, config with { Rope = config.Rope with { RopeTheta = 1e6 } });
        Assert.Equal(1e6, raised.Config.Rope.RopeTheta);
        Assert.All(raised.parameters(), p => Assert.True(p.requires_grad));
        foreach (var (name, t) in model.NamedTensors()) Assert.True(t.allclose(raised.NamedTensors()[name], 0, 0), name);

        using var _ = no_grad();
        var backend = new SdpaAttentionBackend();
        var ids = randint(3, vocab.Size, [1, 64], dtype: ScalarType.Int64, generator: new Generator(5));
        var a = model.Forward(ids, backend);
        var b = raised.Forward(ids, backend);
        // Position 0 sees only itself (no rotation difference), later positions differ.
        Assert.True(allclose(a[0, 0], b[0, 0], rtol: 1e-5, atol: 1e-6));
        Assert.False(allclose(a[0, 63], b[0, 63], rtol: 1e-3, atol: 1e-4));
    }

    [Fact]
    public async Task Fast_run_writes_report_heatmaps_and_summary_through_the_cli()
    {
        var dir = Path.Combine(Path.GetTempPath(), "longctx-quickstart-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Equal(0, await LongCtxApp.RunAsync(["quickstart", "--fast", "--out", dir, "--json"]));

        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("This is a toy", report);
        Assert.Contains("No training on the needles", report);
        Assert.Contains("![before](heatmap_before.png)", report);
        Assert.Contains("![after](heatmap_after.png)", report);
        Assert.Contains("| depth \\ length | 32 | 64 | 128 |", report);
        foreach (var name in new[] { "heatmap_before", "heatmap_after" })
        {
            var png = File.ReadAllBytes(Path.Combine(dir, name + ".png"));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            Assert.True(png.Length > 5000);
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir, name + ".svg")));
        }
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        Assert.Equal(128, summary["extended_length"]!.GetValue<int>());
        Assert.True(summary["theta_after"]!.GetValue<double>() > summary["theta_before"]!.GetValue<double>());
        Assert.Equal(3, summary["accuracy_after"]!.AsObject().Count);
        Assert.InRange(summary["accuracy_before"]!["128"]!.GetValue<double>(), 0, 100);
        Assert.True(summary["total_cpu_seconds"]!.GetValue<double>() > 0);
        Directory.Delete(dir, recursive: true);
    }
}
