namespace LongContext.Training.Loop;

/// <summary>What the CLI shows while training runs (reported once per step).</summary>
public sealed record TrainingProgress(int Step, int MaxSteps, StepMetrics Last, double AverageTokensPerSecond, TimeSpan Elapsed, TimeSpan? Eta);
