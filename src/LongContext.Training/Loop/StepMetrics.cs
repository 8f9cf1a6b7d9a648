using System.Text.Json.Serialization;

namespace LongContext.Training.Loop;

/// <summary>One line of metrics.jsonl: what optimizer step <see cref="Step"/> (1-based count of steps done) did.</summary>
public sealed record StepMetrics
{
    [JsonPropertyName("step")] public required int Step { get; init; }
    /// <summary>Mean cross-entropy over the step's predicted tokens (before the update).</summary>
    [JsonPropertyName("loss")] public required double Loss { get; init; }
    [JsonPropertyName("lr")] public required double LearningRate { get; init; }
    /// <summary>Global gradient norm before clipping.</summary>
    [JsonPropertyName("grad_norm")] public required double GradNorm { get; init; }
    /// <summary>Input tokens of this step (batch · sequence length · accumulation).</summary>
    [JsonPropertyName("tokens")] public required long Tokens { get; init; }
    [JsonPropertyName("predicted_tokens")] public required long PredictedTokens { get; init; }
    /// <summary>Input tokens of all steps so far, this one included (continues across resumes).</summary>
    [JsonPropertyName("tokens_seen")] public required long TokensSeen { get; init; }
    [JsonPropertyName("step_seconds")] public required double StepSeconds { get; init; }
    [JsonPropertyName("tokens_per_s")] public required double TokensPerSecond { get; init; }
    /// <summary>Model-FLOPs utilisation (FlopModel.TrainingFlopsPerToken), when peak_flops is set.</summary>
    [JsonPropertyName("mfu")] public double? Mfu { get; init; }
    [JsonPropertyName("peak_memory_bytes")] public long PeakMemoryBytes { get; init; }
    /// <summary>What <see cref="PeakMemoryBytes"/> measures: "cuda_peak_allocated" or "process_peak_working_set".</summary>
    [JsonPropertyName("memory_kind")] public string MemoryKind { get; init; } = "";
}
