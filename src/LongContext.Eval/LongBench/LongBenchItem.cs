using System.Text.Json.Serialization;

namespace LongContext.Eval.LongBench;

/// <summary>One LongBench v2 question, with the field names of its data.json (THUDM/LongBench README, "Data Format").</summary>
public sealed record LongBenchItem
{
    [JsonPropertyName("_id")] public string? Id { get; init; }
    [JsonPropertyName("domain")] public string? Domain { get; init; }
    [JsonPropertyName("sub_domain")] public string? SubDomain { get; init; }
    /// <summary>"easy" or "hard".</summary>
    [JsonPropertyName("difficulty")] public string? Difficulty { get; init; }
    /// <summary>"short", "medium" or "long" (the length category, not a token count).</summary>
    [JsonPropertyName("length")] public string? Length { get; init; }
    [JsonPropertyName("question")] public string? Question { get; init; }
    [JsonPropertyName("choice_A")] public string? ChoiceA { get; init; }
    [JsonPropertyName("choice_B")] public string? ChoiceB { get; init; }
    [JsonPropertyName("choice_C")] public string? ChoiceC { get; init; }
    [JsonPropertyName("choice_D")] public string? ChoiceD { get; init; }
    /// <summary>The correct letter, A–D.</summary>
    [JsonPropertyName("answer")] public string? Answer { get; init; }
    [JsonPropertyName("context")] public string? Context { get; init; }
}
