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
    /// <summary>
    /// Answer tokens allowed beyond RULER's per-task budget (reasoning models think first). Prompts are still fitted to
    /// RULER's budget, so they stay RULER's; only max_tokens grows.
    /// </summary>
    public int ExtraAnswerTokens { get; init; }
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
            ["squad"] = data.Squad is null ? null : $"{data.Squad.Source} {data.Squad.Questions.Count}q/{data.Squad.Docs.Count}d",
            ["hotpotqa"] = data.HotpotQa is null ? null : $"{data.HotpotQa.Source} {data.HotpotQa.Questions.Count}q/{data.HotpotQa.Docs.Count}d",
            ["samples"] = options.Samples,
            ["answer_budget"] = options.ExtraAnswerTokens == 0 ? null : options.ExtraAnswerTokens,
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
                        return ToItem(tk.Generate(len, idx, options.Seed, session.Measurer), session.Measurer, options.ExtraAnswerTokens);
                    }));
                }
        var manifest = new RunManifest
        {
            Suite = SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = session.Placement,
            Lengths = options.Lengths, Tasks = notes,
        };
        return (manifest, plans);
    }

    /// <summary>RULER scores an echoed prompt like any answer (string_match_all / part): the record is flagged, not zeroed.</summary>
    public static EvalItem ToItem(RulerSample s, PromptMeasurer measurer, int extraAnswerTokens = 0)
    {
        var req = s.Request(extraAnswerTokens);
        return new EvalItem(req, s.Outputs, (pred, _) => Task.FromResult(Scorers.Match(s.Metric, pred, s.Outputs)), measurer.Render(req), s.PromptTokens)
        {
            ZeroOnEcho = false,
            NonComparable = s.NonComparable,
        };
    }

    /// <summary>
    /// Writes every sample to DIR/{task}_{length}.jsonl (the exact prompt, plus RULER's input, answer_prefix, outputs)
    /// without calling a backend; files are rewritten, so the dump is identical for identical arguments.
    /// </summary>
    public static int DumpAll(string dir, RulerOptions options, RulerData data, PromptMeasurer measurer)
    {
        Directory.CreateDirectory(dir);
        var n = 0;
        foreach (var task in options.Tasks.Select(t => RulerTask.Create(t, data)).Where(t => t.Status.Available))
            foreach (var length in options.Lengths)
            {
                var lines = Enumerable.Range(0, options.Samples).Select(i => JsonSerializer.Serialize(Row(task.Generate(length, i, options.Seed, measurer), measurer, options.ExtraAnswerTokens))).ToList();
                var path = Path.Combine(dir, $"{task.Name}_{length}.jsonl");
                File.WriteAllLines(path + ".tmp", lines);
                File.Move(path + ".tmp", path, overwrite: true);
                n += lines.Count;
            }
        return n;
    }

    /// <summary>
    /// One dump line: "prompt" is the exact text the model sees (template rendered, few-shot turns and answer prefix
    /// included; for a chat endpoint, its messages rendered with the known or "base" template), "messages" what a chat
    /// endpoint is sent, plus RULER's own fields (input, answer_prefix, outputs).
    /// </summary>
    private static object Row(RulerSample s, PromptMeasurer measurer, int extraAnswerTokens)
    {
        var req = s.Request(extraAnswerTokens);
        return new
        {
            index = s.Index, prompt = measurer.Render(req), placement = Runs.EvalRunner.Placement(measurer.Placement), template = measurer.Template.Name,
            messages = measurer.Placement == PrefixPlacement.UserMessageEnd ? PromptRenderer.ChatMessages(req).Select(m => new { role = m.Role, content = m.Content }).ToArray() : null,
            input = s.Input, answer_prefix = s.AnswerPrefix, outputs = s.Outputs, length = s.Length,
            prompt_tokens = s.PromptTokens, max_new_tokens = req.MaxNewTokens, metric = s.Metric == MatchMetric.All ? "string_match_all" : "string_match_part",
            non_comparable = s.NonComparable,
        };
    }
}
