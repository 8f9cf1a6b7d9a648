using System.Text.RegularExpressions;
using LongContext.Eval.Backends;

namespace LongContext.Eval.Scoring;

/// <summary>
/// Optional LLM judge for NIAH through another endpoint, using the 1–10 rubric of gkamradt/LLMTest_NeedleInAHaystack
/// (MIT; LangChain labeled_score_string criteria, quoted verbatim). Returns the score ×10 (0–100).
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

    [GeneratedRegex(@"\b(10|[1-9])\b")]
    private static partial Regex FirstScore();

    public async Task<double> ScoreAsync(string question, string reference, string answer, CancellationToken ct)
    {
        var prompt = $"Please act as an impartial judge and evaluate the quality of the answer to the question, given the reference answer.\n\n[Criteria]\n{Criteria}\n\n[Question]\n{question}\n\n[Reference]\n{reference}\n\n[Answer]\n{answer}\n\nScore:";
        var res = await judge.GenerateAsync(GenerationRequest.FromUser(prompt, "", 8), ct).ConfigureAwait(false);
        var m = FirstScore().Match(res.Text);
        if (!m.Success) throw new EvalException($"The judge endpoint answered '{res.Text}' instead of a 1–10 score; use a stronger --judge-model.");
        return int.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture) * 10.0;
    }
}
