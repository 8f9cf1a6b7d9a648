using System.Globalization;
using System.Text.Json.Nodes;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Niah;

/// <summary>Plans a NIAH sweep: one item per (length, depth), keyed by the depth value so a finer grid reuses matching cells.</summary>
public static class NiahSuite
{
    public const string SuiteName = "niah";

    public static (RunManifest Manifest, List<EvalItemPlan> Plans) Plan(NiahOptions options, IHaystack haystack, WordPool words, EvalSession session, LlmJudge? judge = null, string? judgeId = null)
    {
        var depths = NiahGrid.Depths(options.DepthCount, options.Spacing);
        var config = new JsonObject
        {
            ["suite"] = SuiteName,
            ["variant"] = options.Variant.ToString().ToLowerInvariant(),
            ["needles"] = options.Variant == NiahVariant.Multi ? options.Needles : null,
            ["distractors"] = options.Variant == NiahVariant.Adversarial ? options.Distractors : null,
            ["custom_needle"] = options.Custom?.Needle,
            ["custom_question"] = options.Custom?.Question,
            ["seed"] = options.Seed,
            ["max_new_tokens"] = options.MaxNewTokens,
            ["buffer"] = options.Buffer,
            ["haystack"] = haystack.Name,
            ["words"] = words.Source,
            ["backend"] = session.Backend.Describe,
            ["prefix_placement"] = session.Placement,
            ["tokenizer"] = session.TokenizerId,
            ["chat_template"] = session.Measurer.Template.Name,
            ["judge"] = judgeId,
        };
        var hash = RunManifest.Hash(config);
        var generator = new NiahGenerator(haystack, options, words);
        var taskName = options.Custom is null ? $"niah_{options.Variant.ToString().ToLowerInvariant()}" : "niah_custom";
        var plans = new List<EvalItemPlan>();
        foreach (var length in options.Lengths)
            for (var d = 0; d < depths.Length; d++)
            {
                var (len, di, depth) = (length, d, depths[d]);
                plans.Add(new EvalItemPlan(SuiteName, taskName, len, "d" + depth.ToString("0.###", CultureInfo.InvariantCulture), depth, () =>
                {
                    var c = generator.Generate(len, di, session.Measurer);
                    Func<string, CancellationToken, Task<double>> score = judge is not null
                        ? (pred, ct) => judge.ScoreAsync(c.Question, string.Join(" / ", c.Expected), Scorers.Postprocess(pred), ct)
                        : (pred, _) => Task.FromResult(Score(c, pred));
                    return new EvalItem(GenerationRequest.FromUser(c.Input, c.AnswerPrefix, options.MaxNewTokens), c.Expected, score, c.Input, c.PromptTokens);
                }));
            }
        var manifest = new RunManifest
        {
            Suite = SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = session.Placement,
            Lengths = options.Lengths, Depths = depths,
            Tasks = [new TaskNote(taskName, true, false, $"LongContext's own variant (RULER-style needles in the {haystack.Name} haystack; echoes score 0), not gkamradt's NIAH (--preset gkamradt); not comparable across tokenizers or haystacks")],
        };
        return (manifest, plans);
    }

    /// <summary>Fraction of expected values found ×100, or 0 when a superseded or distractor value appears.</summary>
    public static double Score(NiahCase c, string prediction)
    {
        var pred = Scorers.Postprocess(prediction).ToLowerInvariant();
        if (c.Forbidden.Any(f => pred.Contains(f.ToLowerInvariant(), StringComparison.Ordinal))) return 0;
        return Scorers.Match(c.Metric, prediction, c.Expected);
    }
}
