using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using LongContext.Eval.Backends;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;
using LongContext.Eval.Text;

namespace LongContext.Eval.Icl;

public sealed record IclOptions
{
    /// <summary>"word_label", "hidden_arith", or a label/text TSV or JSONL file (see <see cref="IclData.Load"/>).</summary>
    public string Task { get; init; } = "word_label";
    /// <summary>Optional file of test queries (same formats); by default queries are held out of <see cref="Task"/>'s examples.</summary>
    public string? TestFile { get; init; }
    public IReadOnlyList<int> Shots { get; init; } = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
    public int Queries { get; init; } = 50;
    /// <summary>Independent draws of the shots; the report gives the mean accuracy over them and their spread.</summary>
    public int Seeds { get; init; } = 3;
    /// <summary>Context window: shot counts whose prompts do not fit are dropped.</summary>
    public int MaxLength { get; init; } = 131072;
    public int Seed { get; init; } = 42;
    public int MaxNewTokens { get; init; } = 8;
}

/// <summary>
/// Many-shot in-context learning: accuracy vs number of examples. Test queries are held out of the shot pool, shots are
/// drawn without replacement, and each shot count is run with several independent draws (seeds), reported as mean ±
/// standard deviation. Items are keyed by (shots, seed, query); Length holds the shot count.
/// </summary>
public static class IclSuite
{
    public const string SuiteName = "icl";
    private const string Instruction = "Each example maps an input to a label by a fixed rule. Learn the rule from the examples, then give only the label of the last input.\n\n";
    private const string AnswerPrefix = "\nLabel:";

    public static string Prompt(IReadOnlyList<IclExample> shots, string query) =>
        Instruction + string.Concat(shots.Select(s => $"Input: {s.Input}\nLabel: {s.Label}\n\n")) + $"Input: {query}";

    /// <summary>The shots of one item: <paramref name="k"/> pool examples without replacement, a pure function of (seed, draw, k, query).</summary>
    public static List<IclExample> Shots(IclData data, IclOptions o, int draw, int k, int query)
    {
        var rng = new Random(RandomExtensions.MixSeed(o.Seed, data.Name, draw, k, query));
        return rng.SampleIndices(data.Pool.Count, k).Select(i => data.Pool[i]).ToList();
    }

    public static (RunManifest, List<EvalItemPlan>) Plan(IclOptions o, EvalSession session)
    {
        if (o.Seeds < 1) throw new EvalException("--seeds must be at least 1.");
        var data = IclData.Load(o.Task, o.Queries, o.Seed, o.TestFile);
        var config = new JsonObject
        {
            ["suite"] = SuiteName, ["task"] = data.Name, ["source"] = data.Source, ["seed"] = o.Seed, ["max_new_tokens"] = o.MaxNewTokens,
            ["held_out_queries"] = true, ["backend"] = session.Backend.Describe,
            ["prefix_placement"] = session.Placement, ["tokenizer"] = session.TokenizerId, ["chat_template"] = session.Measurer.Template.Name,
        };
        var hash = RunManifest.Hash(config);
        var plans = new List<EvalItemPlan>();
        var kept = new List<int>();
        var dropped = new List<string>();
        foreach (var k in o.Shots.Distinct().Order())
        {
            if (k > data.Pool.Count) { dropped.Add($"{k} (pool has {data.Pool.Count} examples)"); continue; }
            var probe = Prompt(Shots(data, o, 0, k, 0), data.Queries[0].Input);
            if (session.Measurer.Count(probe, AnswerPrefix) + o.MaxNewTokens > o.MaxLength) { dropped.Add($"{k} (over {o.MaxLength} tokens)"); break; }
            kept.Add(k);
            for (var s = 0; s < o.Seeds; s++)
                for (var q = 0; q < data.Queries.Count; q++)
                {
                    var (shots, draw, qi) = (k, s, q);
                    plans.Add(new EvalItemPlan(SuiteName, data.Name, k, $"s{draw}q{qi}", null, () =>
                    {
                        var query = data.Queries[qi];
                        var input = Prompt(Shots(data, o, draw, shots, qi), query.Input);
                        var req = GenerationRequest.FromUser(input, AnswerPrefix, o.MaxNewTokens);
                        return new EvalItem(req, [query.Label], (pred, _) => Task.FromResult(IsCorrect(pred, query.Label) ? 100.0 : 0.0),
                            session.Measurer.Render(req), session.Measurer.Count(req));
                    }));
                }
        }
        if (kept.Count == 0) throw new EvalException($"ICL: no shot count fits: {string.Join(", ", dropped)}.");
        var manifest = new RunManifest
        {
            Suite = SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = session.Placement, Lengths = kept,
            Tasks = [new TaskNote(data.Name, true, true,
                $"{data.Source}; {data.Queries.Count} held-out queries × {o.Seeds} draws of shots (without replacement) from {data.Pool.Count} examples, {data.Labels} labels"
                + (dropped.Count > 0 ? $"; dropped shot counts: {string.Join(", ", dropped)}" : ""))],
        };
        return (manifest, plans);
    }

    /// <summary>Correct when the first non-empty line, stripped of quotes and trailing punctuation, equals the label (case-insensitive).</summary>
    public static bool IsCorrect(string prediction, string label)
    {
        var line = Scoring.Scorers.Postprocess(prediction).Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
        if (line.StartsWith("Label:", StringComparison.OrdinalIgnoreCase)) line = line[6..].Trim();
        line = line.Trim('"', '\'', '.', ',', ';', ' ', '*');
        return string.Equals(line, label.Trim(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Accuracy per shot count: the mean over draws of each draw's accuracy, and the draws' standard deviation; failed items count as wrong.</summary>
    internal static void WriteReport(string runDir, RunManifest m, List<ResultRecord> records, StringBuilder md, JsonObject summary)
    {
        var task = m.Tasks.FirstOrDefault()?.Task ?? "icl";
        md.AppendLine($"## Many-shot ICL: {task}").AppendLine().AppendLine("| shots | accuracy (mean ± sd over draws) | draws | n |").AppendLine("|---|---|---|---|");
        var points = new List<(int, double)>();
        var acc = new JsonObject();
        var spread = new JsonObject();
        foreach (var k in m.Lengths)
        {
            var rs = records.Where(r => r.Length == k).ToList();
            if (rs.Count == 0) { md.AppendLine($"| {k} | – | 0 | 0 |"); continue; }
            var perDraw = rs.GroupBy(r => r.Index.Split('q')[0]).Select(g => g.Average(r => r.Score)).ToList();
            var mean = perDraw.Average();
            var sd = perDraw.Count > 1 ? Math.Sqrt(perDraw.Sum(a => (a - mean) * (a - mean)) / (perDraw.Count - 1)) : 0;
            points.Add((k, mean));
            var key = k.ToString(CultureInfo.InvariantCulture);
            acc[key] = Math.Round(mean, 2);
            spread[key] = Math.Round(sd, 2);
            md.AppendLine($"| {k} | {mean.ToString("0.0", CultureInfo.InvariantCulture)} ± {sd.ToString("0.0", CultureInfo.InvariantCulture)}{RunReport.Failed(rs.Count(r => r.Error is not null))} | {perDraw.Count} | {rs.Count} |");
        }
        md.AppendLine();
        if (points.Count > 0)
        {
            var png = Plots.ScoreVsLength(new Dictionary<string, IReadOnlyList<(int, double)>> { [task] = points }, $"Many-shot ICL ({task}): accuracy vs shots", Path.Combine(runDir, "icl_accuracy.png"));
            md.AppendLine($"![accuracy]({Path.GetFileName(png)})");
            summary["plot_png"] = png;
        }
        summary["accuracy_by_shots"] = acc;
        summary["accuracy_sd_by_shots"] = spread;
    }
}
