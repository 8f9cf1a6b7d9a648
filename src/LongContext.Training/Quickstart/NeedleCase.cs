namespace LongContext.Training.Quickstart;

/// <summary>
/// One retrieval prompt: exactly <see cref="Length"/> tokens, distractor pairs with the needle pair at
/// <see cref="NeedlePosition"/> (from <see cref="DepthPercent"/>) and the query <see cref="Question"/> last; the right
/// next token is <see cref="Answer"/> (the needle pair).
/// </summary>
public sealed record NeedleCase(int Length, double DepthPercent, int Sample, long[] Prompt, long Question, long Answer, int NeedlePosition);
