using LongContext.Formats.Config;

namespace LongContext.Training.Plan;

/// <summary>What `longctx plan` was asked; null members take the documented defaults.</summary>
public sealed record PlanRequest
{
    public required ModelConfig Model { get; init; }
    /// <summary>Preset name or model folder, for the report.</summary>
    public string ModelName { get; init; } = "model";
    public required GpuCluster Gpus { get; init; }
    /// <summary>Final length; may be omitted when <see cref="Stages"/> is given (it is then the last stage).</summary>
    public long? Target { get; init; }
    /// <summary>Stage lengths; default <see cref="StageSchedule.Default"/> from the native length to the target.</summary>
    public IReadOnlyList<long>? Stages { get; init; }
    public ThetaRule Theta { get; init; } = ThetaRule.Default;
    /// <summary>Model-FLOPs utilisation the time estimate assumes (0, 1].</summary>
    public double Mfu { get; init; } = 0.4;
    /// <summary>Ring (sequence-parallel) size for every stage; null picks, per stage, the smallest that fits.</summary>
    public int? Ring { get; init; }
    /// <summary>Tokens per stage: one value for all stages or one per stage; default <see cref="GradientRecipe.DefaultTokens"/>.</summary>
    public IReadOnlyList<long>? TokensPerStage { get; init; }
    /// <summary>Global batch in sequences per optimizer step; default <see cref="GradientRecipe.DefaultBatchSequences"/>.</summary>
    public int? BatchSequences { get; init; }
    public double LearningRate { get; init; } = 2e-5;
    public bool OffloadOptimizer { get; init; }
    /// <summary>ZeRO stage of the run (<see cref="TrainingLayout.Zero"/>).</summary>
    public int Zero { get; init; } = 2;
    public int LmHeadChunkTokens { get; init; } = 2048;
    /// <summary>Context the model already handles (schedule start); default max_position_embeddings.</summary>
    public long? NativeLength { get; init; }
}
