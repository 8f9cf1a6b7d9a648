using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using LongContext.Eval.Niah;
using LongContext.Eval.Runs;

namespace LongContext.Eval.Reports;

/// <summary>
/// Turns a run folder (manifest.json + results.jsonl) into report.md, plots and a JSON summary; only records carrying
/// the manifest's config hash count. A failed item counts as 0 in every score and is shown in its cell.
/// Written files: report.md, summary.json, niah_heatmap.png/.svg or ruler_scores.png.
/// </summary>
public static class RunReport
{
    private static string F(double v) => double.IsNaN(v) ? "–" : v.ToString("0.0", CultureInfo.InvariantCulture);
    private static JsonNode? J(double v) => double.IsNaN(v) ? null : Math.Round(v, 2);
    /// <summary>Marks a cell holding failed items (they count as 0).</summary>
    internal static string Failed(int n) => n == 0 ? "" : $" ({n} failed)";

    public static JsonObject Write(string runDir)
    {
        var manifest = RunManifest.Read(runDir);
        if (manifest.Suite == Perplexity.PerplexitySuite.SuiteName) return Perplexity.PerplexityReport.Write(runDir, manifest);
        var records = ResultStore.Read(runDir).Where(r => r.ConfigHash == manifest.ConfigHash).ToList();
        var ok = records.Where(r => r.Error is null).ToList();
        var failed = records.Count - ok.Count;
        var summary = new JsonObject
        {
            ["suite"] = manifest.Suite,
            ["run_dir"] = Path.GetFullPath(runDir),
            ["config_hash"] = manifest.ConfigHash,
            ["backend"] = manifest.Backend,
            ["prefix_placement"] = manifest.PrefixPlacement,
            ["placement_note"] = manifest.PlacementNote,
            ["items"] = records.Count,
            ["errors"] = failed,
            ["echoes"] = ok.Count(r => r.Echo),
            ["thinking_unfinished"] = ok.Count(r => r.Prediction is { } p && Scoring.Scorers.ThinkingUnfinished(p)),
        };
        var md = new StringBuilder();
        md.AppendLine($"# {manifest.Suite.ToUpperInvariant()} report").AppendLine();
        md.AppendLine($"- Backend: `{manifest.Backend}`");
        md.AppendLine($"- Answer prefix placement: **{manifest.PrefixPlacement}**" + (manifest.PlacementNote is { } pn ? $" ({pn})" : ""));
        md.AppendLine($"- Tokenizer: `{manifest.Config["tokenizer"]}`, chat template: `{manifest.Config["chat_template"]}`");
        md.AppendLine($"- Config hash: `{manifest.ConfigHash}`; items: {records.Count}; **failed: {failed}** (each counts as 0); prompt echoes: {ok.Count(r => r.Echo)}");
        if (failed > 0)
            md.AppendLine($"- First failure: {records.First(r => r.Error is not null).Error}. Rerun the same command to retry the failed items.");
        if (summary["thinking_unfinished"]!.GetValue<int>() is var unfinished and > 0)
            md.AppendLine($"- {unfinished} answers stopped inside a <think> block (scored on the text before it): raise --answer-budget.");
        md.AppendLine();
        if (manifest.Suite is NiahSuite.SuiteName or Passkey.PasskeySuite.SuiteName) WriteNiah(runDir, manifest, records, md, summary);
        else if (manifest.Suite == Ruler.RulerSuite.SuiteName) WriteRuler(runDir, manifest, records, md, summary);
        else if (manifest.Suite == Icl.IclSuite.SuiteName) Icl.IclSuite.WriteReport(runDir, manifest, records, md, summary);
        else if (manifest.Suite == LongBench.LongBenchSuite.SuiteName) LongBench.LongBenchSuite.WriteReport(manifest, records, md, summary);
        else if (manifest.Suite == NoLiMa.NoLiMaSuite.SuiteName) NoLiMa.NoLiMaSuite.WriteReport(runDir, manifest, records, md, summary);
        return WriteFiles(runDir, md, summary);
    }

    /// <summary>Writes report.md and summary.json (each *.tmp, then renamed) and returns the summary with the report's path.</summary>
    internal static JsonObject WriteFiles(string runDir, StringBuilder md, JsonObject summary)
    {
        var report = Path.Combine(runDir, "report.md");
        File.WriteAllText(report + ".tmp", md.ToString());
        File.Move(report + ".tmp", report, overwrite: true);
        summary["report"] = report;
        var sumPath = Path.Combine(runDir, "summary.json");
        File.WriteAllText(sumPath + ".tmp", summary.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        File.Move(sumPath + ".tmp", sumPath, overwrite: true);
        return summary;
    }

    private static void WriteNiah(string runDir, RunManifest m, List<ResultRecord> records, StringBuilder md, JsonObject summary)
    {
        var depths = m.Depths ?? records.Select(r => r.Depth ?? 0).Distinct().Order().ToList();
        var lengths = m.Lengths;
        var grid = new double[depths.Count, lengths.Count];
        var errors = new int[depths.Count, lengths.Count];
        var cells = new JsonArray();
        for (var d = 0; d < depths.Count; d++)
            for (var l = 0; l < lengths.Count; l++)
            {
                var hits = records.Where(r => r.Length == lengths[l] && r.Depth is double x && Math.Abs(x - depths[d]) < 1e-6).ToList();
                grid[d, l] = hits.Count == 0 ? double.NaN : hits.Average(r => r.Score);
                errors[d, l] = hits.Count(r => r.Error is not null);
                if (hits.Count > 0) cells.Add(new JsonObject { ["length"] = lengths[l], ["depth"] = depths[d], ["score"] = J(grid[d, l]), ["n"] = hits.Count, ["errors"] = errors[d, l] });
            }
        var overall = records.Count == 0 ? double.NaN : records.Average(r => r.Score);
        var task = m.Tasks.FirstOrDefault()?.Task ?? "niah";
        md.AppendLine($"## {task}: score by depth × length (0–100)").AppendLine();
        md.Append("| depth \\ length |");
        foreach (var l in lengths) md.Append(' ').Append(NiahGrid.FormatLength(l)).Append(" |");
        md.AppendLine().Append("|---|").AppendLine(string.Concat(lengths.Select(_ => "---|")));
        for (var d = 0; d < depths.Count; d++)
        {
            md.Append($"| {depths[d].ToString("0.###", CultureInfo.InvariantCulture)}% |");
            for (var l = 0; l < lengths.Count; l++) md.Append(' ').Append(F(grid[d, l])).Append(Failed(errors[d, l])).Append(" |");
            md.AppendLine();
        }
        md.Append("| **mean** |");
        var perLength = new JsonObject();
        for (var l = 0; l < lengths.Count; l++)
        {
            var vals = Enumerable.Range(0, depths.Count).Select(d => grid[d, l]).Where(v => !double.IsNaN(v)).ToList();
            var mean = vals.Count == 0 ? double.NaN : vals.Average();
            perLength[lengths[l].ToString(CultureInfo.InvariantCulture)] = J(mean);
            md.Append($" **{F(mean)}** |");
        }
        md.AppendLine().AppendLine().AppendLine($"Overall mean: **{F(overall)}**").AppendLine();
        if (records.Count > 0)
        {
            // niah_heatmap.png / passkey_heatmap.png; passkey cells are accuracies (each prompt scores 0 or 100).
            var (png, svg) = Plots.NiahHeatmap(grid, depths, lengths, $"{task} — {m.Backend}", Path.Combine(runDir, $"{m.Suite}_heatmap"),
                m.Suite == Passkey.PasskeySuite.SuiteName ? "Accuracy %" : "Score");
            md.AppendLine($"![heatmap]({Path.GetFileName(png)})").AppendLine().AppendLine($"SVG: [{Path.GetFileName(svg)}]({Path.GetFileName(svg)})").AppendLine();
            summary["heatmap_png"] = png;
            summary["heatmap_svg"] = svg;
        }
        foreach (var n in m.Tasks) md.AppendLine($"Note: {n.Note}.");
        summary["score"] = J(overall);
        summary["per_length"] = perLength;
        summary["cells"] = cells;
    }

    private static void WriteRuler(string runDir, RunManifest m, List<ResultRecord> records, StringBuilder md, JsonObject summary)
    {
        var lengths = m.Lengths;
        var tasks = m.Tasks.Where(t => t.Available).Select(t => t.Task).ToList();
        var table = new Dictionary<(string, int), (double Mean, int N, int Errors)>();
        foreach (var g in records.GroupBy(r => (r.Task, r.Length)))
            table[g.Key] = (g.Average(r => r.Score), g.Count(), g.Count(r => r.Error is not null));
        var nonComparable = Ruler.RulerComparability.NonComparableTasks(m, records);

        md.AppendLine("## Scores by task and length (0–100)").AppendLine();
        md.Append("| task |");
        foreach (var l in lengths) md.Append(' ').Append(NiahGrid.FormatLength(l)).Append(" |");
        md.AppendLine(" comparable |").Append("|---|").Append(string.Concat(lengths.Select(_ => "---|"))).AppendLine("---|");
        var tasksJson = new JsonObject();
        var errorsJson = new JsonObject();
        foreach (var t in tasks)
        {
            md.Append($"| {t} |");
            var row = new JsonObject();
            var errRow = new JsonObject();
            foreach (var l in lengths)
            {
                var has = table.TryGetValue((t, l), out var v);
                md.Append(' ').Append(has ? F(v.Mean) + Failed(v.Errors) : "–").Append(" |");
                row[l.ToString(CultureInfo.InvariantCulture)] = has ? J(v.Mean) : null;
                if (has && v.Errors > 0) errRow[l.ToString(CultureInfo.InvariantCulture)] = v.Errors;
            }
            md.AppendLine(nonComparable.Contains(t) ? " **no** |" : " yes |");
            tasksJson[t] = row;
            if (errRow.Count > 0) errorsJson[t] = errRow;
        }
        var lengthScores = new List<(int Length, double Score)>();
        md.Append("| **average** |");
        foreach (var l in lengths)
        {
            var vals = tasks.Where(t => table.ContainsKey((t, l))).Select(t => table[(t, l)].Mean).ToList();
            var s = vals.Count == 0 ? double.NaN : vals.Average();
            if (!double.IsNaN(s)) lengthScores.Add((l, s));
            md.Append($" **{F(s)}** |");
        }
        md.AppendLine(" |").AppendLine();
        var ls = lengthScores.Select(x => x.Score).ToList();
        var avg = RulerAggregate.Average(ls);
        var inc = RulerAggregate.WeightedAverage(ls, increasing: true);
        var dec = RulerAggregate.WeightedAverage(ls, increasing: false);
        var eff = RulerAggregate.EffectiveLength(lengthScores);
        md.AppendLine($"- Avg: **{F(avg)}**, wAvg (inc): **{F(inc)}**, wAvg (dec): **{F(dec)}**");
        md.AppendLine($"- Effective length (longest length scoring > {RulerAggregate.Threshold.ToString(CultureInfo.InvariantCulture)}): **{(eff is int e ? NiahGrid.FormatLength(e) : "none")}**");
        var skipped = m.Tasks.Where(t => !t.Available).ToList();
        var reasons = Ruler.RulerComparability.Reasons(m, records);
        if (reasons.Count == 0) md.AppendLine("- **Comparable with published RULER numbers**: RULER's 13 tasks, data, lengths, samples and answer-prefix placement, no failed items.");
        else
        {
            md.AppendLine("- **Not comparable with published RULER numbers**, because:");
            foreach (var r in reasons) md.AppendLine($"  - {r}");
        }
        md.AppendLine();
        md.AppendLine("## Tasks and data").AppendLine();
        foreach (var t in m.Tasks) md.AppendLine($"- `{t.Task}`: {(t.Available ? (t.Comparable ? "comparable" : "**non-comparable**") : "**skipped**")} — {t.Note}");
        md.AppendLine();
        if (lengthScores.Count > 0)
        {
            var series = new Dictionary<string, IReadOnlyList<(int, double)>>();
            foreach (var t in tasks)
                series[t] = lengths.Where(l => table.ContainsKey((t, l))).Select(l => (l, table[(t, l)].Mean)).ToList();
            series["average"] = lengthScores;
            var png = Plots.ScoreVsLength(series, $"RULER — {m.Backend}", Path.Combine(runDir, "ruler_scores.png"), RulerAggregate.Threshold);
            md.AppendLine($"![scores]({Path.GetFileName(png)})");
            summary["plot_png"] = png;
        }
        summary["tasks"] = tasksJson;
        summary["per_length"] = new JsonObject(lengthScores.Select(x => KeyValuePair.Create(x.Length.ToString(CultureInfo.InvariantCulture), J(x.Score))));
        summary["avg"] = J(avg);
        summary["wavg_inc"] = J(inc);
        summary["wavg_dec"] = J(dec);
        summary["effective_length"] = eff;
        summary["skipped_tasks"] = new JsonArray(skipped.Select(t => (JsonNode?)JsonValue.Create(t.Task)).ToArray());
        summary["non_comparable_tasks"] = new JsonArray(nonComparable.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        summary["errors_by_task"] = errorsJson;
        summary["comparable"] = reasons.Count == 0;
        summary["comparable_reasons"] = new JsonArray(reasons.Select(r => (JsonNode?)JsonValue.Create(r)).ToArray());
    }
}
