using System.Diagnostics;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Quickstart;

/// <summary>
/// Drives the quickstart through the project's <see cref="Trainer"/> (its AdamW, global-norm clipping and
/// learning-rate schedule), one <see cref="Trainer.TrainStep"/> per step. The loss is the trainer's contract
/// (summed cross-entropy over labelled positions) computed on labelled positions only, so no [B, L, vocab] tensor is
/// formed; it also records the share of answers predicted right. Nothing is written: checkpoints are never saved, and
/// the trainer's out_dir is a temporary folder removed afterwards.
/// </summary>
public sealed class ProjectQuickstartTrainer(IAttentionBackend? backend = null) : IQuickstartTrainer
{
    private readonly IAttentionBackend _backend = backend ?? new SdpaAttentionBackend();

    public string Name => "the project Trainer (Trainer.TrainStep: LongContext AdamW, β 0.9/0.95, global-norm clipping, fp32)";

    public TrainingRun Train(LlamaForCausalLM model, ITrainingDataSource data, TrainingSchedule schedule, IProgress<QuickstartStepProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(schedule);
        var wall = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var outDir = Path.Combine(Path.GetTempPath(), "longctx-quickstart-trainer-" + Guid.NewGuid().ToString("N")[..8]);
        var options = OptionsFor(schedule, outDir);
        var accuracy = double.NaN;
        var loss = new DelegateLossComputer((m, batch) =>
        {
            var (sum, acc) = AnswerLossSum(m, batch);
            accuracy = acc;
            return sum;
        });
        var losses = new List<double>();
        double? ema = null;
        var stopped = false;
        try
        {
            using var trainer = new Trainer(model, data, _backend, options, loss);
            for (var step = 0; step < schedule.MaxSteps; step++)
            {
                ct.ThrowIfCancellationRequested();
                var metrics = trainer.TrainStep();
                losses.Add(metrics.Loss);
                ema = ema is null ? metrics.Loss : 0.9 * ema.Value + 0.1 * metrics.Loss;
                progress?.Report(new QuickstartStepProgress(step + 1, schedule.MaxSteps, metrics.Loss, accuracy, metrics.LearningRate));
                if (schedule.StopBelowLoss is double stop && step >= schedule.WarmupSteps && ema < stop)
                {
                    stopped = true;
                    break;
                }
            }
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
        model.eval();
        return new TrainingRun(losses.Count, losses, accuracy, stopped, wall.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu0, Name);
    }

    /// <summary>The trainer options of a quickstart schedule: its learning-rate curve is the trainer's <see cref="LrSchedule"/>.</summary>
    internal static TrainingOptions OptionsFor(TrainingSchedule schedule, string outDir) => new()
    {
        LearningRate = schedule.PeakLearningRate,
        MinLrRatio = schedule.MinLearningRateFraction,
        WarmupSteps = Math.Min(schedule.WarmupSteps, schedule.MaxSteps),
        Schedule = LrScheduleKind.Cosine,
        MaxSteps = schedule.MaxSteps,
        MaxGradNorm = schedule.ClipGradNorm,
        WeightDecay = schedule.WeightDecay,
        Beta1 = 0.9,
        Beta2 = 0.95,
        SaveEvery = 0,
        OutDir = outDir,
    };

    /// <summary>Summed cross-entropy over labelled positions (logits only there), and the share of them predicted right.</summary>
    public static (Tensor LossSum, double Accuracy) AnswerLossSum(LlamaForCausalLM model, DeviceBatch batch)
    {
        using var scope = NewDisposeScope();
        var hidden = model.Forward(batch.InputIds, batch.Context);                                            // [B, L, H]
        var labels = batch.Labels.reshape(-1);
        var picked = nonzero(labels.ne(TrainingBatch.IgnoreIndex)).squeeze(1);                                // [N]
        var logits = model.Logits(hidden.reshape(labels.shape[0], -1).index_select(0, picked));              // [N, vocab]
        var target = labels.index_select(0, picked);
        var sum = nn.functional.cross_entropy(logits, target, reduction: nn.Reduction.Sum);
        double accuracy;
        using (no_grad()) accuracy = logits.argmax(-1).eq(target).to_type(ScalarType.Float32).mean().item<float>();
        return (sum.MoveToOuterDisposeScope(), accuracy);
    }
}
