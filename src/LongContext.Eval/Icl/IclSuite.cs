using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Eval.Backends;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;
using LongContext.Eval.Text;

namespace LongContext.Eval.Icl;

/// <summary>One labelled example.</summary>
public sealed record IclExample(string Input, string Label);

public sealed record IclOptions
{
    /// <summary>"word_label" (random word→label mapping), "hidden_arith" (y = (a·x + b) mod 97 with hidden a, b) or a JSONL path of {input,label}.</summary>
    public string Task { get; init; } = "word_label";
    public IReadOnlyList<int> Shots { get; init; } = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
    public int Queries { get; init; } = 50;
    /// <summary>Context window: shot counts whose prompts do not fit are dropped.</summary>
    public int MaxLength { get; init; } = 131072;
    public int Seed { get; init; } = 42;
    public int MaxNewTokens { get; init; } = 8;
}

/// <summary>
/// Many-shot in-context learning: accuracy vs number of examples, on tasks whose rule can only be learned from the
/// examples. Items are keyed by (shots, query index); Length holds the shot count.
/// </summary>
public static class IclSuite
{
    public const string SuiteName = "icl";
    private const string Instruction = "Each example maps an input to a label by a fixed rule. Learn the rule from the examples, then give only the label of the last input.\n\n";

    public static (List<IclExample> Pool, List<IclExample> Queries, string Name) LoadTask(IclOptions o)
    {
        var rng = new Random(RandomExtensions.MixSeed(o.Seed, "icl", o.Task));
        if (o.Task == "word_label")
        {
            var words = WordPool.Generated(256, seed: o.Seed).Words;
            string[] labels = ["apple", "river", "stone", "cloud", "ember", "frost"];
            var map = words.ToDictionary(w => w, _ => labels[rng.Next(labels.Length)]);
            var all = words.Select(w => new IclExample(w, map[w])).ToList();
            return (all, Enumerable.Range(0, o.Queries).Select(_ => all[rng.Next(all.Count)]).ToList(), "word_label");
        }
        if (o.Task == "hidden_arith")
        {
            var (a, b) = (rng.Next(2, 96), rng.Next(0, 97));
            var all = Enumerable.Range(0, 97).Select(x => new IclExample(x.ToString(CultureInfo.InvariantCulture), ((a * x + b) % 97).ToString(CultureInfo.InvariantCulture))).ToList();
            return (all, Enumerable.Range(0, o.Queries).Select(_ => all[rng.Next(all.Count)]).ToList(), "hidden_arith");
        }
        if (!File.Exists(o.Task)) throw new EvalException($"--task {o.Task}: neither word_label, hidden_arith nor an existing JSONL file of {{\"input\",\"label\"}} lines.");
        var rows = new List<IclExample>();
        foreach (var (line, n) in File.ReadLines(o.Task).Select((l, i) => (l, i + 1)).Where(x => !string.IsNullOrWhiteSpace(x.l)))
        {
            try
            {
                var node = JsonNode.Parse(line)!;
                rows.Add(new IclExample(node["input"]!.ToString(), node["label"]!.ToString()));
            }
            catch (Exception e) when (e is JsonException or NullReferenceException)
            { throw new EvalException($"{o.Task}:{n}: expected a JSON object with \"input\" and \"label\"."); }
        }
        if (rows.Count < o.Queries + 8) throw new EvalException($"{o.Task}: {rows.Count} examples; need at least {o.Queries + 8} (queries + 8 shots).");
        rng.ShuffleInPlace(rows);
        return (rows.Skip(o.Queries).ToList(), rows.Take(o.Queries).ToList(), Path.GetFileNameWithoutExtension(o.Task));
    }

    public static string Prompt(IReadOnlyList<IclExample> shots, string query) =>
        Instruction + string.Concat(shots.Select(s => $"Input: {s.Input}\nLabel: {s.Label}\n\n")) + $"Input: {query}";

    public static (RunManifest, List<EvalItemPlan>) Plan(IclOptions o, EvalSession session)
    {
        var (pool, queries, name) = LoadTask(o);
        var config = new JsonObject
        {
            ["suite"] = SuiteName, ["task"] = name, ["seed"] = o.Seed, ["max_new_tokens"] = o.MaxNewTokens, ["backend"] = session.Backend.Describe,
            ["prefix_placement"] = session.Placement, ["tokenizer"] = session.TokenizerId, ["chat_template"] = session.Measurer.Template.Name,
        };
        var hash = RunManifest.Hash(config);
        var plans = new List<EvalItemPlan>();
        var kept = new List<int>();
        foreach (var k in o.Shots.Order())
        {
            var rng0 = new Random(RandomExtensions.MixSeed(o.Seed, name, k, 0));
            var probe = Prompt(Enumerable.Range(0, k).Select(_ => pool[rng0.Next(pool.Count)]).ToList(), queries[0].Input);
            if (session.Measurer.Count(probe, "\nLabel:") + o.MaxNewTokens > o.MaxLength) break;
            kept.Add(k);
            for (var q = 0; q < queries.Count; q++)
            {
                var (shots, qi) = (k, q);
                plans.Add(new EvalItemPlan(SuiteName, name, k, $"q{qi}", null, () =>
                {
                    var rng = new Random(RandomExtensions.MixSeed(o.Seed, name, shots, qi));
                    var query = queries[qi];
                    var examples = Enumerable.Range(0, shots).Select(_ => pool[rng.Next(pool.Count)]).ToList();
                    var input = Prompt(examples, query.Input);
                    return new EvalItem(GenerationRequest.FromUser(input, "\nLabel:", o.MaxNewTokens), [query.Label],
                        (pred, _) => Task.FromResult(IsCorrect(pred, query.Label) ? 100.0 : 0.0), input, session.Measurer.Count(input, "\nLabel:"));
                }));
            }
        }
        if (kept.Count == 0) throw new EvalException($"ICL: even {o.Shots.Min()} shots do not fit --max-length {o.MaxLength}.");
        var manifest = new RunManifest
        {
            Suite = SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = session.Placement, Lengths = kept,
            Tasks = [new TaskNote(name, true, true, $"{queries.Count} queries per shot count; shot counts that did not fit {o.MaxLength} tokens were dropped")],
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

    internal static void WriteReport(string runDir, RunManifest m, List<ResultRecord> ok, StringBuilder md, JsonObject summary)
    {
        var task = m.Tasks.FirstOrDefault()?.Task ?? "icl";
        md.AppendLine($"## Many-shot ICL: {task}").AppendLine().AppendLine("| shots | accuracy | n |").AppendLine("|---|---|---|");
        var points = new List<(int, double)>();
        var acc = new JsonObject();
        foreach (var k in m.Lengths)
        {
            var rs = ok.Where(r => r.Length == k).ToList();
            if (rs.Count == 0) { md.AppendLine($"| {k} | – | 0 |"); continue; }
            var a = rs.Average(r => r.Score);
            points.Add((k, a));
            acc[k.ToString(CultureInfo.InvariantCulture)] = Math.Round(a, 2);
            md.AppendLine($"| {k} | {a.ToString("0.0", CultureInfo.InvariantCulture)} | {rs.Count} |");
        }
        md.AppendLine();
        if (points.Count > 0)
        {
            var png = Plots.ScoreVsLength(new Dictionary<string, IReadOnlyList<(int, double)>> { [task] = points }, $"Many-shot ICL ({task}): accuracy vs shots", Path.Combine(runDir, "icl_accuracy.png"));
            md.AppendLine($"![accuracy]({Path.GetFileName(png)})");
            summary["plot_png"] = png;
        }
        summary["accuracy_by_shots"] = acc;
    }
}
