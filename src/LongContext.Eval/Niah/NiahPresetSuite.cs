using System.Globalization;
using System.Text.Json.Nodes;
using LongContext.Formats.Tokenization;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;
using LongContext.Eval.Scoring;

namespace LongContext.Eval.Niah;

/// <summary>
/// Plans a NIAH sweep as the original harness builds it (<see cref="NiahPreset"/>, <see cref="NeedleInserter"/>): the
/// context is length − 200 tokens of essays with the needle(s) at the depth; the request is the OpenAI provider's three
/// messages (system, the context, the question); 300 answer tokens. Items are keyed by depth, like our own variants.
/// </summary>
public static class NiahPresetSuite
{
    /// <summary>gkamradt's linear depths are <c>np.round(np.linspace(0, 100, n)).astype(int)</c>; sigmoid ones keep 3 decimals.</summary>
    public static double[] Depths(int count, DepthSpacing spacing) => spacing == DepthSpacing.Linear && count > 1
        ? Enumerable.Range(0, count).Select(i => Math.Round(100.0 * i / (count - 1), MidpointRounding.ToEven)).ToArray()
        : NiahGrid.Depths(count, spacing);

    public static GenerationRequest Request(NiahPreset preset, string context, int extraAnswerTokens = 0) => new()
    {
        Messages =
        [
            new ChatMessage("system", NiahPreset.SystemMessage),
            new ChatMessage("user", context),
            new ChatMessage("user", preset.Question + NiahPreset.QuestionSuffix),
        ],
        MaxNewTokens = NiahPreset.MaxNewTokens + extraAnswerTokens,
    };

    public static (RunManifest Manifest, List<EvalItemPlan> Plans) Plan(NiahPreset preset, IReadOnlyList<int> lengths, int depthCount, DepthSpacing spacing,
        string essaysText, string essaysSource, EvalSession session, LlmJudge? judge = null, string? judgeId = null, int extraAnswerTokens = 0)
    {
        if (judge is not null && preset != NiahPreset.Gkamradt)
            throw new EvalException($"--judge-endpoint: the {preset.Name} preset scores the fraction of needles found by substring, not by a judge.");
        var depths = Depths(depthCount, spacing);
        var verified = Ruler.RulerProvenance.StartsWithRepoEssays(essaysText) && essaysText.Length == Ruler.RulerProvenance.RepoEssaysChars;
        var config = new JsonObject
        {
            ["suite"] = NiahSuite.SuiteName,
            ["preset"] = preset.Name,
            ["essays"] = essaysSource,
            ["essays_verified"] = verified,
            ["backend"] = session.Backend.Describe,
            ["prefix_placement"] = session.Placement,
            ["tokenizer"] = session.TokenizerId,
            ["chat_template"] = session.Measurer.Template.Name,
            ["judge"] = judgeId,
            ["answer_budget"] = extraAnswerTokens == 0 ? null : extraAnswerTokens,
        };
        var hash = RunManifest.Hash(config);
        var inserter = new NeedleInserter(essaysText, session.Measurer.Tokenizer);
        var plans = new List<EvalItemPlan>();
        foreach (var length in lengths)
            foreach (var depth in depths)
            {
                var (len, d) = (length, depth);
                plans.Add(new EvalItemPlan(NiahSuite.SuiteName, preset.Name, len, "d" + d.ToString("0.###", CultureInfo.InvariantCulture), d, () =>
                {
                    if (len <= NiahPreset.Buffer + 16) throw new EvalException($"--lengths {len}: the {preset.Name} preset keeps {NiahPreset.Buffer} tokens free; use lengths above {NiahPreset.Buffer + 16}.");
                    var context = inserter.Context(len, d, preset.Needles, NiahPreset.Buffer);
                    var req = Request(preset, context, extraAnswerTokens);
                    Func<string, CancellationToken, Task<double>> score = judge is not null
                        ? (pred, ct) => judge.ScoreAsync(preset.Question, preset.Reference, Scorers.Postprocess(pred), ct)
                        : (pred, _) => Task.FromResult(Scorers.Match(MatchMetric.All, pred, preset.ScoreSubstrings));
                    return new EvalItem(req, preset.ScoreSubstrings, score, session.Measurer.Render(req), session.Measurer.Count(req)) { ZeroOnEcho = false };
                }));
            }
        var note = $"{preset.Name} preset (LLMTest_NeedleInAHaystack's needle placement and prompt); {(judge is null ? preset.ScoreNote : "scored by the 1–10 judge (×10)")}; "
            + (verified ? "haystack: the 49 Paul Graham essays of the original repository (SHA-256 verified)" : $"haystack: {essaysSource} (not the original 49 Paul Graham essays)");
        var manifest = new RunManifest
        {
            Suite = NiahSuite.SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = session.Placement,
            Lengths = lengths, Depths = depths, Tasks = [new TaskNote(preset.Name, true, verified, note)],
        };
        return (manifest, plans);
    }
}
