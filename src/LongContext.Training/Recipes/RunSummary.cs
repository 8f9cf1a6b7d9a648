using System.Text.Json.Serialization;
using LongContext.Training.Reports;

namespace LongContext.Training.Recipes;

/// <summary>What a training run did, read back from its metrics.jsonl (so a resumed or skipped run reports the whole run).</summary>
public sealed record RunSummary
{
    [JsonPropertyName("steps")] public required int Steps { get; init; }
    [JsonPropertyName("steps_this_run")] public required int StepsThisRun { get; init; }
    [JsonPropertyName("final_loss")] public double? FinalLoss { get; init; }
    [JsonPropertyName("tokens")] public required long Tokens { get; init; }
    /// <summary>Tokens over summed step time of every logged step.</summary>
    [JsonPropertyName("tokens_per_s")] public double? TokensPerSecond { get; init; }
    [JsonPropertyName("train_seconds")] public required double TrainSeconds { get; init; }

    public static RunSummary FromMetrics(string metricsPath, int stepsThisRun)
    {
        var all = MetricsLog.Read(metricsPath);
        double seconds = all.Sum(m => m.StepSeconds);
        long tokens = all.Sum(m => m.Tokens);
        return new RunSummary
        {
            Steps = all.Count == 0 ? 0 : all[^1].Step,
            StepsThisRun = stepsThisRun,
            FinalLoss = all.Count == 0 ? null : all[^1].Loss,
            Tokens = tokens,
            TokensPerSecond = seconds > 0 ? tokens / seconds : null,
            TrainSeconds = seconds,
        };
    }
}
