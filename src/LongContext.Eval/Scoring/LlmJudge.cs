using System.Text.RegularExpressions;
using LongContext.Formats.Tokenization;
using LongContext.Eval.Backends;

namespace LongContext.Eval.Scoring;

/// <summary>
/// The NIAH judge of gkamradt/LLMTest_NeedleInAHaystack (MIT): LangChain's <c>labeled_score_string</c> evaluator
/// (SCORING_TEMPLATE_WITH_REFERENCE, MIT) with gkamradt's "accuracy" criteria, both quoted verbatim, at temperature 0
/// through another endpoint. The judge answers "[[rating]]" (1–10); the score is the rating ×10 (0–100 scale).
/// </summary>
public sealed partial class LlmJudge(IGenerationBackend judge)
{
    public const string Criteria = """
        Score 1: The answer is completely unrelated to the reference.
        Score 3: The answer has minor relevance but does not align with the reference.
        Score 5: The answer has moderate relevance but contains inaccuracies.
        Score 7: The answer aligns with the reference but has minor omissions.
        Score 10: The answer is completely accurate and aligns perfectly with the reference.
        Only respond with a numberical score
        """;

    private const string SystemMessage = "You are a helpful assistant.";
    private const string Template = "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the user question displayed below. {criteria}[Ground truth]\n{reference}\nBegin your evaluation by providing a short explanation. Be as objective as possible. After providing your explanation, you must rate the response on a scale of 1 to 10 by strictly following this format: \"[[rating]]\", for example: \"Rating: [[5]]\".\n\n[Question]\n{input}\n\n[The Start of Assistant's Answer]\n{prediction}\n[The End of Assistant's Answer]";

    [GeneratedRegex(@"\[\[(10|[1-9])\]\]")]
    private static partial Regex Rating();

    [GeneratedRegex(@"\b(10|[1-9])\b")]
    private static partial Regex FirstScore();

    /// <summary>The judge's user message (exposed for tests).</summary>
    public static string Prompt(string question, string reference, string answer) => Template
        .Replace("{criteria}", "For this evaluation, you should primarily consider the following criteria:\naccuracy: " + Criteria + "\n\n")
        .Replace("{reference}", reference).Replace("{input}", question).Replace("{prediction}", answer);

    public async Task<double> ScoreAsync(string question, string reference, string answer, CancellationToken ct)
    {
        var req = new GenerationRequest { Messages = [new ChatMessage("system", SystemMessage), new ChatMessage("user", Prompt(question, reference, answer))], MaxNewTokens = 512 };
        var res = await judge.GenerateAsync(req, ct).ConfigureAwait(false);
        var m = Rating().Match(res.Text);
        if (!m.Success) m = FirstScore().Match(res.Text);
        if (!m.Success) throw new EvalException($"The judge endpoint answered '{res.Text}' instead of a 1–10 rating; use a stronger --judge-model.");
        return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 10.0;
    }
}
