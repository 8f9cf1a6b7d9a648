using System.Text.Json.Serialization;

namespace LongContext.Training.Recipes;

/// <summary>One stage of an extension run; also written as OUT/stage-&lt;len&gt;/stage.json.</summary>
public sealed record ExtendStageResult
{
    public const string FileName = "stage.json";

    [JsonPropertyName("index")] public required int Index { get; init; }
    [JsonPropertyName("length")] public required long Length { get; init; }
    [JsonPropertyName("rope_theta")] public required double RopeTheta { get; init; }
    [JsonPropertyName("stage_dir")] public required string StageDir { get; init; }
    [JsonPropertyName("export_dir")] public string? ExportDir { get; init; }
    [JsonPropertyName("started_from")] public required string StartedFrom { get; init; }
    [JsonPropertyName("training")] public required RunSummary Training { get; init; }
    /// <summary>LoRA rank the stage trained with (its export has the adapters merged); null: all weights trained.</summary>
    [JsonPropertyName("lora_rank")] public int? LoraRank { get; init; }
    [JsonPropertyName("resumed_from_step")] public int ResumedFromStep { get; init; }
    /// <summary>NIAH score at the stage length (0–100); null when skipped.</summary>
    [JsonPropertyName("niah_score")] public double? NiahScore { get; init; }
    [JsonPropertyName("niah_dir")] public string? NiahDir { get; init; }
    /// <summary>The stage was finished by an earlier run and not trained again.</summary>
    [JsonPropertyName("skipped")] public bool Skipped { get; init; }
    [JsonPropertyName("interrupted")] public bool Interrupted { get; init; }
    /// <summary>What the stage's training had to say (a damaged checkpoint skipped on resume, a plot not drawn).</summary>
    [JsonPropertyName("warnings")] public IReadOnlyList<string> Warnings { get; init; } = [];
}
