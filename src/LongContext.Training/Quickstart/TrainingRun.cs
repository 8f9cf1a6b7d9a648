namespace LongContext.Training.Quickstart;

/// <summary>What a training call did: steps run, the loss of every step, wall and CPU time.</summary>
public sealed record TrainingRun(int Steps, IReadOnlyList<double> Losses, double FinalAccuracy, bool StoppedEarly, TimeSpan Wall, TimeSpan Cpu, string Trainer)
{
    /// <summary>Mean loss of the last min(20, Steps) steps.</summary>
    public double FinalLoss => Losses.Count == 0 ? double.NaN : Losses.Skip(Math.Max(0, Losses.Count - 20)).Average();
}
