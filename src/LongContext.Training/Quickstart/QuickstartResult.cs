using LongContext.Formats.Config;

namespace LongContext.Training.Quickstart;

/// <summary>Everything a quickstart run measured: the model before and after, both trainings, both grids, times.</summary>
public sealed record QuickstartResult
{
    public required QuickstartOptions Options { get; init; }
    public required RecallVocabulary Vocabulary { get; init; }
    public required ModelConfig BaseConfig { get; init; }
    public required ModelConfig ExtendedConfig { get; init; }
    public required long Parameters { get; init; }
    public required int Threads { get; init; }
    public required TrainingRun Pretrain { get; init; }
    public required NeedleGridResult Before { get; init; }
    /// <summary>The base model with only θ raised, at the extended length (no training): how much θ alone does.</summary>
    public required double ThetaOnlyAccuracyAtExtended { get; init; }
    public required TrainingRun Extend { get; init; }
    public required NeedleGridResult After { get; init; }
    public required TimeSpan EvalWall { get; init; }
    public required TimeSpan EvalCpu { get; init; }
    public required TimeSpan TotalWall { get; init; }
    public required TimeSpan TotalCpu { get; init; }

    public double ThetaBefore => BaseConfig.Rope.RopeTheta;
    public double ThetaAfter => ExtendedConfig.Rope.RopeTheta;
}
