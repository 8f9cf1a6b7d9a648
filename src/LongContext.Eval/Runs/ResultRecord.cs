using System.Text.Json.Serialization;

namespace LongContext.Eval.Runs;

/// <summary>One scored item, one line of results.jsonl. <see cref="Key"/> identifies it for resume.</summary>
public sealed record ResultRecord
{
    [JsonPropertyName("key")] public required string Key { get; init; }
    [JsonPropertyName("suite")] public required string Suite { get; init; }
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("length")] public int Length { get; init; }
    [JsonPropertyName("index")] public required string Index { get; init; }
    [JsonPropertyName("depth")] public double? Depth { get; init; }
    [JsonPropertyName("config_hash")] public required string ConfigHash { get; init; }
    /// <summary>0–100; 0 when the request failed (a failed item counts as wrong) or, for our own variants, echoed the prompt.</summary>
    [JsonPropertyName("score")] public double Score { get; init; }
    [JsonPropertyName("prediction")] public string? Prediction { get; init; }
    [JsonPropertyName("references")] public IReadOnlyList<string> References { get; init; } = [];
    [JsonPropertyName("echo")] public bool Echo { get; init; }
    [JsonPropertyName("prompt_tokens")] public int? PromptTokens { get; init; }
    [JsonPropertyName("server_prompt_tokens")] public int? ServerPromptTokens { get; init; }
    [JsonPropertyName("completion_tokens")] public int? CompletionTokens { get; init; }
    [JsonPropertyName("prefix_placement")] public string? PrefixPlacement { get; init; }
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }
    /// <summary>Set when generation failed; such items are retried on resume.</summary>
    [JsonPropertyName("error")] public string? Error { get; init; }
    [JsonPropertyName("judge_score")] public double? JudgeScore { get; init; }
    [JsonPropertyName("finish_reason")] public string? FinishReason { get; init; }
    /// <summary>Why this item's prompt differs from the original benchmark's, or null (see EvalItem.NonComparable).</summary>
    [JsonPropertyName("non_comparable")] public string? NonComparable { get; init; }
    /// <summary>Suite-specific facts (LongBench's extracted letter, NoLiMa's needle character, passkey's parsed digits).</summary>
    [JsonPropertyName("details")] public System.Text.Json.Nodes.JsonObject? Details { get; init; }
}
