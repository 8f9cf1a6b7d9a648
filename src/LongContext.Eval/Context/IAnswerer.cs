namespace LongContext.Eval.Context;

/// <summary>How the answer is generated.</summary>
public sealed record AnswerOptions
{
    public int MaxNewTokens { get; init; } = 1024;
    /// <summary>0 = greedy.</summary>
    public double Temperature { get; init; }
    public long? Seed { get; init; }
}

/// <summary>The answer and what the answering side reported about it.</summary>
public sealed record AnswerResult(string Text, bool Streamed, int? PromptTokens = null, int? CompletionTokens = null, string? FinishReason = null);

/// <summary>Answers one user message, streaming text pieces to <c>onText</c> as they arrive (all at once where the source cannot stream).</summary>
public interface IAnswerer
{
    string Describe { get; }
    Task<AnswerResult> AnswerAsync(string userMessage, AnswerOptions options, Action<string> onText, CancellationToken ct);
}
