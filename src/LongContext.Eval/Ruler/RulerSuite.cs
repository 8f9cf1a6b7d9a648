using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;
using LongContext.Eval.Scoring;

namespace LongContext.Eval.Ruler;

public sealed record RulerOptions
{
    public required IReadOnlyList<int> Lengths { get; init; }
    public int Samples { get; init; } = 500;
    public IReadOnlyList<string> Tasks { get; init; } = RulerTask.DefaultTaskNames;
    public int Seed { get; init; } = 42;
}

/// <summary>Plans a RULER run: unavailable tasks are listed (with the reason) and skipped; items are keyed by sample index.</summary>
public static class RulerSuite
{
    public const string SuiteName = "ruler";

    public static (RunManifest Manifest, List<EvalItemPlan> Plans) Plan(RulerOptions options, RulerData data, EvalSession session)
    {
        var tasks = options.Tasks.Select(t => RulerTask.Create(t, data)).ToList();
        var notes = tasks.Select(t => t.Status).Select(s => new TaskNote(s.Task, s.Available, s.Comparable, s.Note)).ToList();
        var config = new JsonObject
        {
            ["suite"] = SuiteName,
            ["seed"] = options.Seed,
            ["words"] = data.Words.Source,
            ["essays"] = data.EssaySource,
            ["squad"] = data.Squad is null ? null : $"{data.Squad.Questions.Count}q/{data.Squad.Docs.Count}d",
            ["hotpotqa"] = data.HotpotQa is null ? null : $"{data.HotpotQa.Questions.Count}q/{data.HotpotQa.Docs.Count}d",
            ["backend"] = session.Backend.Describe,
            ["prefix_placement"] = session.Placement,
            ["tokenizer"] = session.TokenizerId,
            ["chat_template"] = session.Measurer.Template.Name,
        };
        var hash = RunManifest.Hash(config);
        var plans = new List<EvalItemPlan>();
        foreach (var length in options.Lengths)
            foreach (var task in tasks.Where(t => t.Status.Available))
                for (var i = 0; i < options.Samples; i++)
                {
                    var (len, idx, tk) = (length, i, task);
                    plans.Add(new EvalItemPlan(SuiteName, tk.Name, len, idx.ToString(System.Globalization.CultureInfo.InvariantCulture), null, () =>
                    {
                        return ToItem(tk.Generate(len, idx, options.Seed, session.Measurer));
                    }));
                }
        var manifest = new RunManifest
        {
            Suite = SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = session.Placement,
            Lengths = options.Lengths, Tasks = notes,
        };
        return (manifest, plans);
    }

    public static EvalItem ToItem(RulerSample s) => new(
        GenerationRequest.FromUser(s.Input, s.AnswerPrefix, s.MaxNewTokens), s.Outputs,
        (pred, _) => Task.FromResult(Scorers.Match(s.Metric, pred, s.Outputs)), s.Input, s.PromptTokens);

    /// <summary>
    /// Writes every sample to DIR/{task}_{length}.jsonl (input, answer_prefix, outputs, as RULER's prepare step) without
    /// calling a backend; files are rewritten, so the dump is identical for identical arguments.
    /// </summary>
    public static int DumpAll(string dir, RulerOptions options, RulerData data, PromptMeasurer measurer)
    {
        Directory.CreateDirectory(dir);
        var n = 0;
        foreach (var task in options.Tasks.Select(t => RulerTask.Create(t, data)).Where(t => t.Status.Available))
            foreach (var length in options.Lengths)
            {
                var lines = Enumerable.Range(0, options.Samples).Select(i => JsonSerializer.Serialize(Row(task.Generate(length, i, options.Seed, measurer)))).ToList();
                var path = Path.Combine(dir, $"{task.Name}_{length}.jsonl");
                File.WriteAllLines(path + ".tmp", lines);
                File.Move(path + ".tmp", path, overwrite: true);
                n += lines.Count;
            }
        return n;
    }

    private static object Row(RulerSample s) => new
    {
        index = s.Index, input = s.Input, answer_prefix = s.AnswerPrefix, outputs = s.Outputs, length = s.Length,
        prompt_tokens = s.PromptTokens, max_new_tokens = s.MaxNewTokens, metric = s.Metric == MatchMetric.All ? "string_match_all" : "string_match_part",
    };
}
