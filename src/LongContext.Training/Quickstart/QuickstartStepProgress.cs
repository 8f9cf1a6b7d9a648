namespace LongContext.Training.Quickstart;

/// <summary>One quickstart training step, as an <see cref="IQuickstartTrainer"/> reports it.</summary>
/// <param name="Accuracy">Share of labelled positions whose greedy prediction was right in this step's batch.</param>
public sealed record QuickstartStepProgress(int Step, int MaxSteps, double Loss, double Accuracy, double LearningRate);
