using LongContext.Core.Model;
using LongContext.Training.Data;

namespace LongContext.Training.Quickstart;

/// <summary>
/// The one seam between the quickstart recipe and how a model is trained: run up to
/// <see cref="TrainingSchedule.MaxSteps"/> optimizer steps of <paramref name="data"/> on <paramref name="model"/>
/// (parameters already require gradients) and report each step. <see cref="ProjectQuickstartTrainer"/> drives the
/// project's Trainer.
/// </summary>
public interface IQuickstartTrainer
{
    string Name { get; }

    TrainingRun Train(LlamaForCausalLM model, ITrainingDataSource data, TrainingSchedule schedule, IProgress<TrainingProgress>? progress, CancellationToken ct);
}

/// <summary>
/// Linear warmup to <see cref="PeakLearningRate"/> over <see cref="WarmupSteps"/>, then cosine decay to
/// <see cref="MinLearningRateFraction"/> × peak at <see cref="MaxSteps"/>. Training stops early once an exponential
/// moving average of the loss (factor 0.9) falls below <see cref="StopBelowLoss"/>, when given, after warmup.
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

    /// <summary>The learning rate of step <paramref name="step"/> (0-based); a pure function of the step.</summary>
    public double LearningRate(int step)
    {
        if (step < WarmupSteps) return PeakLearningRate * (step + 1) / WarmupSteps;
        var decaySteps = Math.Max(1, MaxSteps - WarmupSteps);
        var t = Math.Clamp((step - WarmupSteps) / (double)decaySteps, 0, 1);
        var min = PeakLearningRate * MinLearningRateFraction;
        return min + 0.5 * (PeakLearningRate - min) * (1 + Math.Cos(Math.PI * t));
    }
}

/// <param name="Accuracy">Share of labelled positions whose greedy prediction was right in this step's batch.</param>
public sealed record TrainingProgress(int Step, int MaxSteps, double Loss, double Accuracy, double LearningRate);

/// <summary>What a training call did: steps run, the loss of every step, wall and CPU time.</summary>
public sealed record TrainingRun(int Steps, IReadOnlyList<double> Losses, double FinalAccuracy, bool StoppedEarly, TimeSpan Wall, TimeSpan Cpu, string Trainer)
{
    /// <summary>Mean loss of the last min(20, Steps) steps.</summary>
    public double FinalLoss => Losses.Count == 0 ? double.NaN : Losses.Skip(Math.Max(0, Losses.Count - 20)).Average();
}
