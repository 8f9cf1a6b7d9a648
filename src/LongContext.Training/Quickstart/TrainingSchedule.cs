namespace LongContext.Training.Quickstart;

/// <summary>
/// Linear warmup to <see cref="PeakLearningRate"/> over <see cref="WarmupSteps"/>, then cosine decay to
/// <see cref="MinLearningRateFraction"/> × peak at <see cref="MaxSteps"/> (the trainer's <see cref="Optim.LrSchedule"/>).
/// Training stops early once an exponential moving average of the loss (factor 0.9) falls below
/// <see cref="StopBelowLoss"/>, when given, after warmup.
/// </summary>
public sealed record TrainingSchedule
{
    public required int MaxSteps { get; init; }
    public required double PeakLearningRate { get; init; }
    public int WarmupSteps { get; init; }
    public double MinLearningRateFraction { get; init; } = 0.1;
    public double WeightDecay { get; init; }
    public double ClipGradNorm { get; init; } = 1.0;
    public double? StopBelowLoss { get; init; }
}
