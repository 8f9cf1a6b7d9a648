using LongContext.Eval.Scoring;

namespace LongContext.Eval.Ruler;

/// <summary>One generated RULER prompt: the task input (user content, without model template) and the answer prefix, kept apart as RULER's JSONL does.</summary>
public sealed record RulerSample(
    string Task, int Length, int Index, string Input, string AnswerPrefix, IReadOnlyList<string> Outputs,
    int MaxNewTokens, MatchMetric Metric, int PromptTokens, int HaystackSize);

/// <summary>What a task needs to be generated, and whether its numbers compare with published RULER results.</summary>
public sealed record RulerTaskStatus(string Task, bool Available, bool Comparable, string Note);
