using System.Text.Json.Serialization;

namespace LongContext.Training.Recipes;

/// <summary>All stages of an extension run (stages after an interrupted one are absent).</summary>
public sealed record ExtendResult(
    [property: JsonPropertyName("stages")] IReadOnlyList<ExtendStageResult> Stages,
    [property: JsonPropertyName("final_model")] string? FinalModel,
    [property: JsonPropertyName("interrupted")] bool Interrupted)
{
    /// <summary>What the data path gave (null when every stage was done before).</summary>
    [JsonPropertyName("data")] public Data.CorpusSummary? Data { get; init; }
}
