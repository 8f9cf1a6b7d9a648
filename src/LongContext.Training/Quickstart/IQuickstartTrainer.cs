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

    TrainingRun Train(LlamaForCausalLM model, ITrainingDataSource data, TrainingSchedule schedule, IProgress<QuickstartStepProgress>? progress, CancellationToken ct);
}
