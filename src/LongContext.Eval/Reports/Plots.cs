using System.Globalization;
using ScottPlot;

namespace LongContext.Eval.Reports;

/// <summary>ScottPlot 5 charts: the NIAH depth × length heatmap (red → yellow → green, as gkamradt's) and RULER score-vs-length lines.</summary>
public static class Plots
{
    private static readonly Color[] RedToGreen = [Color.FromHex("#F0496E"), Color.FromHex("#EBB839"), Color.FromHex("#0CD79F")];

    /// <summary>
    /// Heatmap with one cell per (depth, length); <paramref name="scores"/>[d, l] in 0..100 or NaN for a missing cell.
    /// Writes PNG and SVG next to each other (<paramref name="pathNoExt"/> + .png/.svg) and returns both paths.
    /// <paramref name="valueLabel"/> names the cell values on the colour bar ("Score"; the quickstart shows "Accuracy %").
    /// </summary>
    public static (string Png, string Svg) NiahHeatmap(double[,] scores, IReadOnlyList<double> depths, IReadOnlyList<int> lengths, string title, string pathNoExt, string valueLabel = "Score")
    {
        var plot = new Plot();
        var rows = depths.Count;
        var cols = lengths.Count;
        // Depth 0 at the top like gkamradt's charts: the y axis is inverted (0 at the top) and row d spans y in
        // [d, d+1] (PlotTests checks the pixels). Each cell is drawn as 2×2 sub-cells so that a single row or column
        // still gives ScottPlot two cell centres to stretch between.
        var fine = new double[rows * 2, cols * 2];
        for (var d = 0; d < rows * 2; d++) for (var l = 0; l < cols * 2; l++) fine[d, l] = scores[d / 2, l / 2];
        var hm = plot.Add.Heatmap(fine);
        hm.Colormap = new ScottPlot.Colormaps.CustomInterpolated(RedToGreen);
        hm.ManualRange = new ScottPlot.Range(0, 100);
        // Position gives the centres of the corner (sub-)cells; the drawn area is one sub-cell larger.
        hm.Position = new CoordinateRect(0.25, cols - 0.25, 0.25, rows - 0.25);
        for (var d = 0; d < rows; d++)
            for (var l = 0; l < cols; l++)
            {
                var v = scores[d, l];
                var t = plot.Add.Text(double.IsNaN(v) ? "–" : v.ToString("0", CultureInfo.InvariantCulture), l + 0.5, d + 0.5);
                t.LabelAlignment = Alignment.MiddleCenter;
                t.LabelFontSize = rows > 20 || cols > 20 ? 8 : 12;
                t.LabelFontColor = Colors.Black;
            }
        var cb = plot.Add.ColorBar(hm);
        cb.Label = valueLabel;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, cols).Select(i => i + 0.5).ToArray(), lengths.Select(Niah.NiahGrid.FormatLength).ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, rows).Select(i => i + 0.5).ToArray(), depths.Select(d => d.ToString("0.#", CultureInfo.InvariantCulture) + "%").ToArray());
        plot.Axes.SetLimits(0, cols, rows, 0);
        plot.Title(title);
        plot.XLabel("Context length (tokens)");
        plot.YLabel("Needle depth");
        var width = Math.Max(700, 110 + 70 * cols);
        var height = Math.Max(450, 120 + 28 * rows);
        var png = pathNoExt + ".png";
        var svg = pathNoExt + ".svg";
        plot.SavePng(png, width, height);
        plot.SaveSvg(svg, width, height);
        return (png, svg);
    }

    /// <summary>Score vs context length, one line per series (tasks and their average); x is log2 of the length.</summary>
    public static string ScoreVsLength(IReadOnlyDictionary<string, IReadOnlyList<(int Length, double Score)>> series, string title, string path, double? threshold = null)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category20();
        var i = 0;
        var allLengths = series.Values.SelectMany(s => s.Select(p => p.Length)).Distinct().Order().ToArray();
        foreach (var (name, points) in series)
        {
            var pts = points.Where(p => !double.IsNaN(p.Score)).OrderBy(p => p.Length).ToArray();
            if (pts.Length == 0) continue;
            var sc = plot.Add.Scatter(pts.Select(p => Math.Log2(p.Length)).ToArray(), pts.Select(p => p.Score).ToArray());
            sc.LegendText = name;
            var isAverage = name.StartsWith("average", StringComparison.OrdinalIgnoreCase);
            sc.Color = isAverage ? Colors.Black : palette.GetColor(i++);
            sc.LineWidth = isAverage ? 3 : 1.5f;
            sc.MarkerSize = isAverage ? 8 : 5;
        }
        if (threshold is double th)
        {
            var hl = plot.Add.HorizontalLine(th);
            hl.LinePattern = LinePattern.Dashed;
            hl.Color = Colors.Gray;
            hl.LegendText = $"threshold {th.ToString(CultureInfo.InvariantCulture)}";
        }
        if (allLengths.Length > 0)
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                allLengths.Select(l => Math.Log2(l)).ToArray(), allLengths.Select(Niah.NiahGrid.FormatLength).ToArray());
        var pad = allLengths.Length > 1 ? 0.3 : 1;
        plot.Axes.SetLimits(allLengths.Length > 0 ? Math.Log2(allLengths[0]) - pad : 0, allLengths.Length > 0 ? Math.Log2(allLengths[^1]) + pad : 1, -2, 102);
        plot.ShowLegend(Edge.Right);
        plot.Title(title);
        plot.XLabel("Context length (tokens)");
        plot.YLabel("Score");
        plot.SavePng(path, 1000, 560);
        return path;
    }

    /// <summary>Loss vs position, one line per run: x is each bucket's midpoint in tokens, y its mean NLL (nats).</summary>
    public static string LossByPosition(IReadOnlyDictionary<string, IReadOnlyList<Perplexity.PerplexityBucket>> series, string title, string path)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var i = 0;
        foreach (var (name, buckets) in series)
        {
            var pts = buckets.Where(b => b.Tokens > 0).ToArray();
            if (pts.Length == 0) continue;
            var sc = plot.Add.Scatter(pts.Select(b => (b.Start + b.End) / 2.0).ToArray(), pts.Select(b => b.MeanNll).ToArray());
            sc.LegendText = name;
            sc.Color = palette.GetColor(i++);
            sc.LineWidth = 2;
            sc.MarkerSize = pts.Length > 64 ? 0 : 4;
        }
        if (series.Count > 1) plot.ShowLegend(Edge.Right);
        plot.Title(title);
        plot.XLabel("Position (tokens)");
        plot.YLabel("Mean loss (nats)");
        plot.SavePng(path, 1000, 560);
        return path;
    }
}
