using System.Text.Json.Serialization;

namespace LongContext.Training.Recipes;

/// <summary>Outcome of <see cref="PretrainRecipe.Run"/>.</summary>
public sealed record PretrainResult
{
    /// <summary>The HF folder (null when the run was interrupted before its last step).</summary>
    [JsonPropertyName("export_dir")] public string? ExportDir { get; init; }
    [JsonPropertyName("run_dir")] public required string RunDir { get; init; }
    [JsonPropertyName("parameters")] public required long Parameters { get; init; }
    [JsonPropertyName("sequence_length")] public required int SequenceLength { get; init; }
    [JsonPropertyName("training")] public required RunSummary Training { get; init; }
    [JsonPropertyName("resumed_from_step")] public int ResumedFromStep { get; init; }
    [JsonPropertyName("interrupted")] public bool Interrupted { get; init; }
    /// <summary>OUT/final already existed: nothing was trained.</summary>
    [JsonPropertyName("already_done")] public bool AlreadyDone { get; init; }
    /// <summary>What the data path gave (null when nothing was trained).</summary>
    [JsonPropertyName("data")] public Data.CorpusSummary? Data { get; init; }
    [JsonPropertyName("warnings")] public IReadOnlyList<string> Warnings { get; init; } = [];
}
