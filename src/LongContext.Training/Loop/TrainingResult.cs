namespace LongContext.Training.Loop;

/// <summary>The outcome of <see cref="Trainer.Run"/>.</summary>
public sealed record TrainingResult
{
    /// <summary>Steps already done when Run started (from a resume).</summary>
    public required int StartStep { get; init; }
    public required int FinalStep { get; init; }
    /// <summary>True when cancellation stopped the run before max_steps (a checkpoint was saved first).</summary>
    public required bool Interrupted { get; init; }
    public required IReadOnlyList<StepMetrics> Steps { get; init; }
    /// <summary>The checkpoint written last (null when the run did no step and had nothing to save).</summary>
    public string? LastCheckpoint { get; init; }
    public required string MetricsPath { get; init; }
    public string? LossCurvePath { get; init; }
    public required TimeSpan Elapsed { get; init; }
    /// <summary>Things that went wrong after training without failing the run (e.g. the loss plot could not be drawn).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public bool Completed => !Interrupted;
}
