using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Eval.Niah;
using LongContext.Eval.Perplexity;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;
using SkiaSharp;

namespace LongContext.Eval.Compare;

/// <summary>One run of a comparison: its label, folder, manifest and freshly written summary.</summary>
public sealed record ComparedRun(string Label, string Dir, RunManifest Manifest, JsonObject Summary);

/// <summary>
/// `eval compare`: runs of one suite side by side (a base model against each extension stage, or baselines against
/// each other), the first run as the baseline of every Δ. Writes compare.md, compare.json and PNGs into the output
/// folder: score (or loss) against length for every run, and for NIAH/passkey/NoLiMa the heatmaps next to each other.
/// </summary>
public static class RunComparison
{
    private static string F(double v, string format = "0.0") => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);
    private static string D(double v, string format = "+0.0;-0.0;0.0") => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);

    public static JsonObject Write(IReadOnlyList<string> runDirs, IReadOnlyList<string>? labels, string outDir)
    {
        if (runDirs.Count < 2) throw new EvalException("eval compare needs at least two run folders.");
        if (labels is not null && labels.Count != runDirs.Count) throw new EvalException($"--labels gives {labels.Count} names for {runDirs.Count} runs.");
        var runs = new List<ComparedRun>();
        for (var i = 0; i < runDirs.Count; i++)
        {
            var manifest = RunManifest.Read(runDirs[i]);
            var label = labels?[i] ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(runDirs[i])));
            if (runs.Any(r => r.Label == label)) label = $"{label} ({i + 1})";
            runs.Add(new ComparedRun(label, runDirs[i], manifest, RunReport.Write(runDirs[i])));
        }
        var suite = runs[0].Manifest.Suite;
        if (runs.FirstOrDefault(r => r.Manifest.Suite != suite) is { } other)
            throw new EvalException($"eval compare: {runs[0].Dir} is a {suite} run but {other.Dir} is a {other.Manifest.Suite} run; compare runs of one suite.");
        Directory.CreateDirectory(outDir);
        var md = new StringBuilder($"# {suite} comparison\n\n");
        md.AppendLine("| run | folder | backend | config hash |").AppendLine("|---|---|---|---|");
        foreach (var r in runs) md.AppendLine($"| **{r.Label}** | `{r.Dir}` | `{r.Manifest.Backend}` | `{r.Manifest.ConfigHash}` |");
        md.AppendLine().AppendLine($"Δ columns are each run minus the first (**{runs[0].Label}**).").AppendLine();
        var json = new JsonObject { ["suite"] = suite, ["baseline"] = runs[0].Label, ["runs"] = new JsonArray(runs.Select(r => (JsonNode?)new JsonObject { ["label"] = r.Label, ["run_dir"] = Path.GetFullPath(r.Dir), ["summary"] = r.Summary.DeepClone() }).ToArray()) };
        if (suite == PerplexitySuite.SuiteName) Perplexity(runs, md, json, outDir);
        else
        {
            ByLength(runs, md, json, outDir);
            if (suite == Ruler.RulerSuite.SuiteName) RulerTasks(runs, md);
            if (runs.All(r => r.Manifest.Depths is { Count: > 0 } && r.Summary["heatmap_png"] is not null)) Heatmaps(runs, md, json, outDir);
            if (suite == LongBench.LongBenchSuite.SuiteName) Columns(runs, md, ["overall", "easy", "hard", "short", "medium", "long"]);
        }
        var mdPath = Path.Combine(outDir, "compare.md");
        File.WriteAllText(mdPath + ".tmp", md.ToString());
        File.Move(mdPath + ".tmp", mdPath, overwrite: true);
        json["report"] = mdPath;
        var jsonPath = Path.Combine(outDir, "compare.json");
        File.WriteAllText(jsonPath + ".tmp", json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(jsonPath + ".tmp", jsonPath, overwrite: true);
        return json;
    }

    /// <summary>summary.per_length (score by length) of each run, side by side with Δ, and a score-vs-length plot.</summary>
    private static void ByLength(List<ComparedRun> runs, StringBuilder md, JsonObject json, string outDir)
    {
        var per = runs.Select(r => (r.Summary["per_length"] as JsonObject)?.ToDictionary(kv => int.Parse(kv.Key, CultureInfo.InvariantCulture), kv => kv.Value?.GetValue<double>() ?? double.NaN) ?? []).ToList();
        var lengths = per.SelectMany(p => p.Keys).Distinct().Order().ToList();
        if (lengths.Count > 0)
        {
            md.AppendLine("## Score by length").AppendLine();
            md.Append("| length | ").Append(string.Join(" | ", runs.Select(r => r.Label))).Append(" | ").Append(string.Join(" | ", runs.Skip(1).Select(r => $"Δ {r.Label}"))).AppendLine(" |");
            md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", runs.Count * 2 - 1)));
            foreach (var l in lengths)
            {
                double V(int i) => per[i].TryGetValue(l, out var v) ? v : double.NaN;
                md.Append($"| {NiahGrid.FormatLength(l)} | ").Append(string.Join(" | ", runs.Select((_, i) => F(V(i))))).Append(" | ")
                  .Append(string.Join(" | ", runs.Skip(1).Select((_, i) => D(V(i + 1) - V(0))))).AppendLine(" |");
            }
            var series = runs.Select((r, i) => KeyValuePair.Create(r.Label, (IReadOnlyList<(int, double)>)per[i].Select(kv => (kv.Key, kv.Value)).OrderBy(x => x.Key).ToList()))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            var png = Plots.ScoreVsLength(series, $"{runs[0].Manifest.Suite}: score by length", Path.Combine(outDir, "compare_scores.png"));
            md.AppendLine().AppendLine($"![score by length]({Path.GetFileName(png)})").AppendLine();
            json["plot_png"] = png;
        }
        var keys = new[] { "avg", "effective_length", "base_score" }.Where(k => runs.Any(r => r.Summary[k] is not null)).ToList();
        md.AppendLine("| run | score | " + string.Join(" | ", keys) + " |");
        md.AppendLine("|---|---|" + string.Concat(keys.Select(_ => "---|")));
        foreach (var r in runs)
            md.AppendLine($"| {r.Label} | {F(Num(r.Summary["score"] ?? r.Summary["avg"]))} | " + string.Join(" | ", keys.Select(k => r.Summary[k]?.ToJsonString() ?? "–")) + " |");
        md.AppendLine();
    }

    private static double Num(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN;

    /// <summary>RULER: each task's mean over the lengths run, per run, with Δ.</summary>
    private static void RulerTasks(List<ComparedRun> runs, StringBuilder md)
    {
        var tasks = runs.SelectMany(r => (r.Summary["tasks"] as JsonObject)?.Select(kv => kv.Key) ?? []).Distinct().ToList();
        double Mean(ComparedRun r, string t) => r.Summary["tasks"]?[t] is JsonObject row && row.Select(kv => Num(kv.Value)).Where(v => !double.IsNaN(v)).ToList() is { Count: > 0 } vs ? vs.Average() : double.NaN;
        md.AppendLine("## RULER tasks (mean over lengths)").AppendLine();
        md.AppendLine("| task | " + string.Join(" | ", runs.Select(r => r.Label)) + " | " + string.Join(" | ", runs.Skip(1).Select(r => $"Δ {r.Label}")) + " |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", runs.Count * 2 - 1)));
        foreach (var t in tasks)
            md.AppendLine($"| {t} | " + string.Join(" | ", runs.Select(r => F(Mean(r, t)))) + " | " + string.Join(" | ", runs.Skip(1).Select(r => D(Mean(r, t) - Mean(runs[0], t)))) + " |");
        md.AppendLine();
    }

    /// <summary>Named summary columns (LongBench's result.py columns) per run with Δ.</summary>
    private static void Columns(List<ComparedRun> runs, StringBuilder md, IReadOnlyList<string> columns)
    {
        md.AppendLine("## Accuracy").AppendLine().AppendLine("| run | " + string.Join(" | ", columns) + " |").AppendLine("|---|" + string.Concat(columns.Select(_ => "---|")));
        foreach (var r in runs)
            md.AppendLine($"| {r.Label} | " + string.Join(" | ", columns.Select(c => F(Num(r.Summary[c])) + (r == runs[0] ? "" : $" ({D(Num(r.Summary[c]) - Num(runs[0].Summary[c]))})"))) + " |");
        md.AppendLine();
    }

    /// <summary>Every run's heatmap next to each other in one PNG, and each run's cells minus the baseline's.</summary>
    private static void Heatmaps(List<ComparedRun> runs, StringBuilder md, JsonObject json, string outDir)
    {
        var png = Path.Combine(outDir, "compare_heatmaps.png");
        SideBySide(runs.Select(r => r.Summary["heatmap_png"]!.GetValue<string>()).ToList(), png);
        md.AppendLine("## Heatmaps (left to right: " + string.Join(", ", runs.Select(r => r.Label)) + ")").AppendLine().AppendLine($"![heatmaps]({Path.GetFileName(png)})").AppendLine();
        json["heatmaps_png"] = png;
        Dictionary<(int, double), double> Cells(ComparedRun r) => (r.Summary["cells"] as JsonArray ?? []).ToDictionary(
            c => (c!["length"]!.GetValue<int>(), c["depth"]!.GetValue<double>()), c => Num(c!["score"]));
        var baseCells = Cells(runs[0]);
        if (baseCells.Count == 0) return;
        var lengths = baseCells.Keys.Select(k => k.Item1).Distinct().Order().ToList();
        var depths = baseCells.Keys.Select(k => k.Item2).Distinct().Order().ToList();
        foreach (var r in runs.Skip(1))
        {
            var cells = Cells(r);
            md.AppendLine($"### Δ {r.Label} − {runs[0].Label} by depth × length").AppendLine();
            md.AppendLine("| depth \\ length | " + string.Join(" | ", lengths.Select(NiahGrid.FormatLength)) + " |").AppendLine("|---|" + string.Concat(lengths.Select(_ => "---|")));
            foreach (var d in depths)
                md.AppendLine($"| {d.ToString("0.###", CultureInfo.InvariantCulture)}% | " + string.Join(" | ", lengths.Select(l =>
                    D((cells.TryGetValue((l, d), out var v) ? v : double.NaN) - (baseCells.TryGetValue((l, d), out var b) ? b : double.NaN)))) + " |");
            md.AppendLine();
        }
    }

    /// <summary>Perplexity runs: mean loss per position bucket for every run, Δ loss, and one plot with every curve.</summary>
    private static void Perplexity(List<ComparedRun> runs, StringBuilder md, JsonObject json, string outDir)
    {
        var buckets = runs.Select(r => PerplexityReport.Aggregate(PerplexityReport.Records(r.Dir, r.Manifest))).ToList();
        var n = buckets.Max(b => b.Count);
        md.AppendLine("## Mean loss (nats) by position").AppendLine();
        md.AppendLine("| positions | " + string.Join(" | ", runs.Select(r => r.Label)) + " | " + string.Join(" | ", runs.Skip(1).Select(r => $"Δ {r.Label}")) + " |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", runs.Count * 2 - 1)));
        for (var b = 0; b < n; b++)
        {
            double L(int i) => b < buckets[i].Count ? buckets[i][b].MeanNll : double.NaN;
            var span = buckets.First(x => b < x.Count)[b];
            md.AppendLine($"| {(span.Start == 0 ? "0" : NiahGrid.FormatLength(span.Start))}–{NiahGrid.FormatLength(span.End)} | " + string.Join(" | ", runs.Select((_, i) => F(L(i), "0.000")))
                + " | " + string.Join(" | ", runs.Skip(1).Select((_, i) => D(L(i + 1) - L(0), "+0.000;-0.000;0.000"))) + " |");
        }
        md.AppendLine().AppendLine("| run | window | documents | perplexity |").AppendLine("|---|---|---|---|");
        foreach (var r in runs) md.AppendLine($"| {r.Label} | {r.Summary["window"]} | {r.Summary["documents"]} | {F(Num(r.Summary["perplexity"]), "0.00")} |");
        var png = Plots.LossByPosition(runs.Select((r, i) => KeyValuePair.Create(r.Label, (IReadOnlyList<PerplexityBucket>)buckets[i])).ToDictionary(kv => kv.Key, kv => kv.Value),
            "Loss by position", Path.Combine(outDir, "compare_loss.png"));
        md.AppendLine().AppendLine($"![loss by position]({Path.GetFileName(png)})");
        json["plot_png"] = png;
    }

    /// <summary>Draws PNGs left to right on one canvas (white background, top-aligned).</summary>
    internal static void SideBySide(IReadOnlyList<string> pngs, string path)
    {
        var bitmaps = pngs.Select(p => SKBitmap.Decode(p) ?? throw new EvalException($"{p}: not a readable PNG; rerun `longctx eval report` on its run.")).ToList();
        try
        {
            using var canvasBitmap = new SKBitmap(bitmaps.Sum(b => b.Width), bitmaps.Max(b => b.Height));
            using (var canvas = new SKCanvas(canvasBitmap))
            {
                canvas.Clear(SKColors.White);
                var x = 0;
                foreach (var b in bitmaps) { canvas.DrawBitmap(b, x, 0); x += b.Width; }
            }
            using var data = canvasBitmap.Encode(SKEncodedImageFormat.Png, 100);
            using var file = File.Create(path + ".tmp");
            data.SaveTo(file);
        }
        finally { foreach (var b in bitmaps) b.Dispose(); }
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
