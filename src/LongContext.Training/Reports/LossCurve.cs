using LongContext.Training.Loop;
using ScottPlot;

namespace LongContext.Training.Reports;

/// <summary>The loss curve of a run (ScottPlot 5): raw loss per step, an EMA-smoothed line over it, and lr on a right axis.</summary>
public static class LossCurve
{
    /// <summary>Writes a PNG of loss (and learning rate) against step; returns <paramref name="path"/>.</summary>
    public static string Write(IReadOnlyList<StepMetrics> metrics, string path, string title = "Training loss", double smoothing = 0.9)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(smoothing);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(smoothing, 1.0);
        var points = metrics.Where(m => double.IsFinite(m.Loss)).OrderBy(m => m.Step).ToArray();
        var plot = new Plot();
        if (points.Length > 0)
        {
            double[] steps = points.Select(m => (double)m.Step).ToArray();
            double[] loss = points.Select(m => m.Loss).ToArray();
            var raw = plot.Add.Scatter(steps, loss);
            raw.LegendText = "loss";
            raw.Color = Colors.SteelBlue.WithAlpha(0.45);
            raw.MarkerSize = points.Length > 200 ? 0 : 3;
            raw.LineWidth = 1;
            if (points.Length > 2 && smoothing > 0)
            {
                var ema = new double[loss.Length];
                ema[0] = loss[0];
                for (int i = 1; i < loss.Length; i++) ema[i] = smoothing * ema[i - 1] + (1 - smoothing) * loss[i];
                var smooth = plot.Add.Scatter(steps, ema);
                smooth.LegendText = $"EMA ({smoothing:0.##})";
                smooth.Color = Colors.Navy;
                smooth.MarkerSize = 0;
                smooth.LineWidth = 2.5f;
            }
            var lr = plot.Add.Scatter(steps, points.Select(m => m.LearningRate).ToArray());
            lr.LegendText = "lr";
            lr.Color = Colors.OrangeRed;
            lr.MarkerSize = 0;
            lr.LinePattern = LinePattern.Dashed;
            lr.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "Learning rate";
            plot.ShowLegend(Edge.Bottom);
        }
        plot.Title(title);
        plot.XLabel("Step");
        plot.YLabel("Loss (cross-entropy, nats/token)");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var tmp = path + ".tmp.png";
        plot.SavePng(tmp, 1000, 560);
        File.Move(tmp, path, overwrite: true);
        return path;
    }

    /// <summary>Reads a metrics.jsonl and writes its curve.</summary>
    public static string WriteFromMetrics(string metricsJsonl, string path, string title = "Training loss") =>
        Write(MetricsLog.Read(metricsJsonl), path, title);
}
