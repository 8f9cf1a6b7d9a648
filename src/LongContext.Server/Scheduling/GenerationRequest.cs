using LongContext.Core.Inference;

namespace LongContext.Server.Scheduling;

/// <summary>One generation as the scheduler takes it: prompt ids plus OpenAI-style parameters (null = default).</summary>
public sealed record GenerationRequest
{
    public required IReadOnlyList<int> PromptIds { get; init; }
    /// <summary>New tokens at most; null = whatever context is left after the prompt.</summary>
    public int? MaxTokens { get; init; }
    /// <summary>0 = greedy; null = 1.0 (OpenAI's default).</summary>
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public long? Seed { get; init; }
    /// <summary>Stop strings: generation ends before the first occurrence, which is not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
}

/// <summary>What a finished generation reports besides its text.</summary>
public sealed record GenerationSummary(
    FinishReason FinishReason,
    IReadOnlyList<int> CompletionIds,
    int PromptTokens,
    int CachedPromptTokens,
    double QueueSeconds,
    double PrefillSeconds,
    double DecodeSeconds)
{
    public int CompletionTokens => CompletionIds.Count;
    public int TotalTokens => PromptTokens + CompletionTokens;
    /// <summary>Decode speed: tokens after the first over the time spent producing them.</summary>
    public double TokensPerSecond => CompletionTokens > 1 && DecodeSeconds > 0 ? (CompletionTokens - 1) / DecodeSeconds : 0;
    public string FinishReasonText => FinishReason == FinishReason.Stop ? "stop" : "length";
}

/// <summary>A finished generation: its full text (stop string removed) and summary.</summary>
public sealed record GenerationOutput(string Text, GenerationSummary Summary);

/// <summary>The validated form the worker runs.</summary>
internal sealed record ValidatedRequest(IReadOnlyList<int> PromptIds, int MaxNewTokens, SamplingOptions Sampling, IReadOnlyList<string> Stop);
