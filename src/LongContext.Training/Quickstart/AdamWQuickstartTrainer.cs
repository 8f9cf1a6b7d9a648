using System.Diagnostics;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Quickstart;

/// <summary>
/// The minimal trainer behind <see cref="IQuickstartTrainer"/>: fp32, TorchSharp's AdamW (β 0.9/0.95), gradient
/// clipping, the schedule's learning rate set before every step, and cross-entropy over labelled positions only
/// (logits are computed just for those, so no [B, L, vocab] tensor is formed).
/// </summary>
public sealed class AdamWQuickstartTrainer(IAttentionBackend? backend = null) : IQuickstartTrainer
{
    private readonly IAttentionBackend _backend = backend ?? new SdpaAttentionBackend();

    public string Name => "AdamW (TorchSharp optim.AdamW, β 0.9/0.95, fp32)";

    public TrainingRun Train(LlamaForCausalLM model, ITrainingDataSource data, TrainingSchedule schedule, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(schedule);
        var parameters = model.parameters().Where(p => p.requires_grad).ToArray();
        if (parameters.Length == 0) throw new InvalidOperationException("no parameter requires gradients; enable requires_grad before training.");
        var wall = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        model.train();
        using var optimizer = optim.AdamW(parameters, lr: schedule.PeakLearningRate, beta1: 0.9, beta2: 0.95, weight_decay: schedule.WeightDecay);
        var losses = new List<double>();
        double? ema = null;
        var accuracy = 0.0;
        var stopped = false;
        for (var step = 0; step < schedule.MaxSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var lr = schedule.LearningRate(step);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            var batch = data.Next();
            var (loss, acc) = Loss(model, batch);
            optimizer.zero_grad();
            loss.backward();
            if (schedule.ClipGradNorm > 0) nn.utils.clip_grad_norm_(parameters, schedule.ClipGradNorm);
            optimizer.step();
            var value = loss.item<float>();
            losses.Add(value);
            accuracy = acc;
            ema = ema is null ? value : 0.9 * ema.Value + 0.1 * value;
            progress?.Report(new TrainingProgress(step + 1, schedule.MaxSteps, value, acc, lr));
            if (schedule.StopBelowLoss is double stop && step >= schedule.WarmupSteps && ema < stop)
            {
                stopped = true;
                break;
            }
        }
        model.eval();
        return new TrainingRun(losses.Count, losses, accuracy, stopped, wall.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu0, Name);
    }

    /// <summary>Mean cross-entropy over labelled positions, and the share of them predicted right.</summary>
    public (Tensor Loss, double Accuracy) Loss(LlamaForCausalLM model, TrainingBatch batch)
    {
        var device = model.Device;
        var ids = tensor(batch.InputIds, [batch.BatchSize, batch.SequenceLength], dtype: ScalarType.Int64, device: device);
        var labels = tensor(batch.Labels, [batch.BatchSize * batch.SequenceLength], dtype: ScalarType.Int64, device: device);
        var hidden = model.Forward(ids, _backend).reshape(batch.BatchSize * batch.SequenceLength, -1);   // [B·L, H]
        var picked = nonzero(labels.ne(TrainingBatch.IgnoreIndex)).squeeze(1);                         // [N]
        if (picked.shape[0] == 0) throw new InvalidOperationException("a training batch has no labelled positions.");
        var logits = model.Logits(hidden.index_select(0, picked));                                     // [N, vocab]
        var target = labels.index_select(0, picked);
        var loss = nn.functional.cross_entropy(logits, target);
        using var _ = no_grad();
        var acc = logits.argmax(-1).eq(target).to_type(ScalarType.Float32).mean().item<float>();
        return (loss, acc);
    }
}
