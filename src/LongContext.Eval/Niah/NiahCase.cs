using LongContext.Eval.Scoring;

namespace LongContext.Eval.Niah;

/// <summary>
/// One NIAH prompt. The response scores by substring (<see cref="Metric"/>: the fraction of <see cref="Expected"/> found, or any of them for a custom needle), and 0 when any of
/// <see cref="Forbidden"/> (a superseded value or a distractor's value) appears.
/// </summary>
public sealed record NiahCase(
    int Length, double Depth, int DepthIndex, string Input, string AnswerPrefix,
    IReadOnlyList<string> Expected, IReadOnlyList<string> Forbidden, string Question, int PromptTokens, int HaystackUnits, MatchMetric Metric);
