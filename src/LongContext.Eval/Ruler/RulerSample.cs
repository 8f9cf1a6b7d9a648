using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;

namespace LongContext.Eval.Ruler;

/// <summary>
/// One generated RULER prompt: the task input (user content, without model template), the answer prefix and the
/// few-shot turns, kept apart as RULER's JSONL keeps input and answer_prefix; <see cref="Request"/> joins them.
/// </summary>
public sealed record RulerSample(
    string Task, int Length, int Index, string Input, string AnswerPrefix, IReadOnlyList<string> Outputs,
    int MaxNewTokens, MatchMetric Metric, int PromptTokens, int HaystackSize)
{
    public IReadOnlyList<FewShotTurn> Shots { get; init; } = [];
    /// <summary>Why this prompt is not RULER's (e.g. a word list padded with generated words), or null.</summary>
    public string? NonComparable { get; init; }

    public GenerationRequest Request(int extraAnswerTokens = 0) =>
        GenerationRequest.FromUser(Input, AnswerPrefix, MaxNewTokens + extraAnswerTokens) with { Shots = Shots };
}

/// <summary>What a task needs to be generated, and whether its numbers compare with published RULER results.</summary>
public sealed record RulerTaskStatus(string Task, bool Available, bool Comparable, string Note);

/// <summary>What a task's builder returns for one haystack size.</summary>
public sealed record RulerPrompt(string Input, string AnswerPrefix, IReadOnlyList<string> Outputs)
{
    public IReadOnlyList<FewShotTurn> Shots { get; init; } = [];
    public string? NonComparable { get; init; }

    public GenerationRequest Request => GenerationRequest.FromUser(Input, AnswerPrefix, 1) with { Shots = Shots };
}
