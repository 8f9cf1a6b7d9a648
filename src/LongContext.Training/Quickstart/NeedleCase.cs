namespace LongContext.Training.Quickstart;

/// <summary>
/// One retrieval prompt: exactly <see cref="Length"/> tokens of distractor records with the needle record
/// `key value SEP` at <see cref="DepthPercent"/> and the query `Q key` at the end; the right next token is <see cref="Answer"/>.
/// </summary>
public sealed record NeedleCase(int Length, double DepthPercent, int Sample, long[] Prompt, long NeedleKey, long Answer, int NeedlePosition);
