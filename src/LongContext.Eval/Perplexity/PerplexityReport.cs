using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using LongContext.Eval.Niah;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;

namespace LongContext.Eval.Perplexity;

/// <summary>One position bucket across documents: token-weighted mean NLL, its perplexity, and the perplexity of all tokens before its end.</summary>
public sealed record PerplexityBucket(int Start, int End, long Tokens, int Documents, double MeanNll, double Perplexity, double CumulativePerplexity);

/// <summary>report.md, perplexity_by_position.png and summary.json of a perplexity run folder.</summary>
public static class PerplexityReport
{
    private static string F(double v, string format = "0.000") => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The run's records under the manifest's hash, one per document (the latest wins).</summary>
    public static List<PerplexityRecord> Records(string runDir, RunManifest manifest) =>
        JsonLines.Read<PerplexityRecord>(Path.Combine(runDir, PerplexitySuite.FileName))
            .Where(r => r.ConfigHash == manifest.ConfigHash)
            .GroupBy(r => r.Document, StringComparer.Ordinal).Select(g => g.Last()).ToList();

    /// <summary>Buckets summed over documents (sums and counts, so every token weighs the same).</summary>
    public static List<PerplexityBucket> Aggregate(IReadOnlyList<PerplexityRecord> records)
    {
        var n = records.Count == 0 ? 0 : records.Max(r => r.Counts.Count);
        var size = records.FirstOrDefault()?.BucketSize ?? 1;
        var buckets = new List<PerplexityBucket>(n);
        double cumSum = 0;
        long cumCount = 0;
        for (var b = 0; b < n; b++)
        {
            double sum = 0;
            long count = 0;
            var docs = 0;
            foreach (var r in records.Where(r => b < r.Counts.Count && r.Counts[b] > 0))
            {
                sum += r.NllSums[b];
                count += r.Counts[b];
                docs++;
            }
            cumSum += sum;
            cumCount += count;
            var mean = count == 0 ? double.NaN : sum / count;
            buckets.Add(new PerplexityBucket(b * size, (b + 1) * size, count, docs, mean, Math.Exp(mean), cumCount == 0 ? double.NaN : Math.Exp(cumSum / cumCount)));
        }
        return buckets;
    }

    public static JsonObject Write(string runDir, RunManifest m)
    {
        var records = Records(runDir, m);
        var buckets = Aggregate(records);
        var tokens = buckets.Sum(b => b.Tokens);
        var overall = tokens == 0 ? double.NaN : Math.Log(buckets[^1].CumulativePerplexity);
        var md = new StringBuilder();
        md.AppendLine("# Perplexity by position").AppendLine();
        md.AppendLine($"- Model: `{m.Backend}`");
        md.AppendLine($"- Data: `{m.Config["data"]}`; documents scored: {records.Count}; tokens per document: {m.Config["length"]}" + (m.Config["include_short"]?.GetValue<bool>() == true ? " (shorter documents included)" : " (shorter documents skipped)"));
        md.AppendLine($"- Window: **{m.Config["window"]}** (none: each token sees its whole prefix); bucket size {m.Config["bucket_size"]} tokens; position 0 is the first token (BOS)");
        md.AppendLine($"- Config hash: `{m.ConfigHash}`");
        md.AppendLine().AppendLine("| positions | tokens | docs | mean NLL | perplexity | perplexity of [0, end) |").AppendLine("|---|---|---|---|---|---|");
        var rows = new JsonArray();
        foreach (var b in buckets)
        {
            md.AppendLine($"| {Position(b.Start)}–{Position(b.End)} | {b.Tokens} | {b.Documents} | {F(b.MeanNll)} | {F(b.Perplexity, "0.00")} | {F(b.CumulativePerplexity, "0.00")} |");
            rows.Add(new JsonObject
            {
                ["start"] = b.Start, ["end"] = b.End, ["tokens"] = b.Tokens, ["documents"] = b.Documents,
                ["mean_nll"] = Round(b.MeanNll, 5), ["perplexity"] = Round(b.Perplexity, 4), ["cumulative_perplexity"] = Round(b.CumulativePerplexity, 4),
            });
        }
        md.AppendLine().AppendLine($"Overall: mean NLL **{F(overall)}**, perplexity **{F(Math.Exp(overall), "0.00")}** over {tokens} tokens.").AppendLine();
        var summary = new JsonObject
        {
            ["suite"] = m.Suite, ["run_dir"] = Path.GetFullPath(runDir), ["config_hash"] = m.ConfigHash, ["backend"] = m.Backend,
            ["window"] = m.Config["window"]?.DeepClone(), ["documents"] = records.Count, ["tokens"] = tokens,
            ["mean_nll"] = Round(overall, 5), ["perplexity"] = Round(Math.Exp(overall), 4), ["buckets"] = rows,
        };
        if (buckets.Any(b => b.Tokens > 0))
        {
            var png = Plots.LossByPosition(new Dictionary<string, IReadOnlyList<PerplexityBucket>> { [m.Backend] = buckets },
                $"Loss by position — {m.Backend} (window {m.Config["window"]})", Path.Combine(runDir, "perplexity_by_position.png"));
            md.AppendLine($"![loss by position]({Path.GetFileName(png)})");
            summary["plot_png"] = png;
        }
        return RunReport.WriteFiles(runDir, md, summary);
    }

    private static string Position(int p) => p == 0 ? "0" : NiahGrid.FormatLength(p);

    private static JsonNode? Round(double v, int digits) => double.IsNaN(v) || double.IsInfinity(v) ? null : Math.Round(v, digits);
}
