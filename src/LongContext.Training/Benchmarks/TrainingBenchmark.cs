using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Core.Native;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Optim;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Training.Benchmarks;

/// <summary>One sequence length of the training benchmark (batch 1, one optimizer step per sequence).</summary>
/// <param name="RecomputedLayers">Layers that ran under activation checkpointing (null: all); "checkpointed_layers" in
/// the JSON, as `bench train --checkpointing` names them.</param>
public sealed record TrainMeasurement(int Length, int TimedSteps, double MedianStepSeconds, double TokensPerSecond, double? Mfu,
    long PeakBytes, IReadOnlyList<double> Losses, string? Error,
    [property: System.Text.Json.Serialization.JsonPropertyName("checkpointed_layers")] int? RecomputedLayers = null);

/// <summary>
/// Full fine-tuning speed and memory of a model shape with random weights and random tokens, through the real
/// <see cref="Trainer"/> (AdamW with fp32 master weights and moments, gradient clipping) and the loss it
/// would use at that length (<see cref="LongSequenceLoss"/>: checkpointed layers, chunked LM head). Comparable with
/// bench/hf_train.py: a step is forward + backward + optimizer step at batch 1 per rank. Under data parallelism every
/// rank runs it with its <paramref name="topology"/>: a step is one sequence per rank (the global batch), tokens/s
/// count all ranks' tokens and MFU divides by every rank's peak.
/// </summary>
/// <param name="newLoss">A fresh loss per length: with auto checkpointing it plans from that length's first step.</param>
public sealed class TrainingBenchmark(LlamaForCausalLM model, IAttentionBackend backend, Func<LongSequenceLoss> newLoss, double? peakFlopsPerSecond,
    ITrainingTopology? topology = null)
{
    readonly ITrainingTopology _topology = topology ?? SingleProcessTopology.Instance;

    public TrainMeasurement Measure(int length, int warmupSteps, int timedSteps, long seed = 0)
    {
        var loss = newLoss();
        var outDir = Path.Combine(Path.GetTempPath(), "longctx-bench-train-" + Guid.NewGuid().ToString("N")[..8]);
        var options = new TrainingOptions
        {
            LearningRate = 1e-5,
            Schedule = LrScheduleKind.Constant,
            MaxSteps = warmupSteps + timedSteps + loss.PlanningMicroBatches + 1,   // one micro-batch per rank and step here
            GradientAccumulation = _topology.WorldSize,
            SaveEvery = 0,
            OutDir = outDir,
            PeakFlopsPerSecond = peakFlopsPerSecond,
            Seed = seed,
        };
        Trainer? trainer = null;
        try
        {
            CudaMemory.ResetPeak();
            trainer = new Trainer(model, new RandomTokenSource(model.Config.VocabSize, length, 1, seed), backend, options, loss, topology: _topology);
            var losses = new List<double>();
            var seconds = new List<double>();
            double? mfu = null;
            // Auto checkpointing runs its first step with every layer checkpointed, plans from it, and re-plans from
            // the second: keep both steps out of the warm-up count, so the warm-up and timed steps all run the final
            // layout (and the reported peak is that layout's: the loss resets the peak when it re-plans).
            for (int i = 0; i < loss.PlanningMicroBatches; i++) losses.Add(trainer.TrainStep().Loss);
            for (int i = 0; i < warmupSteps + timedSteps; i++)
            {
                var m = trainer.TrainStep();
                losses.Add(m.Loss);
                if (i < warmupSteps) continue;
                seconds.Add(m.StepSeconds);
                mfu = m.Mfu;
            }
            double median = seconds.Order().ElementAt(seconds.Count / 2);
            long peak = CudaMemory.Stats()?.PeakAllocated ?? 0;
            double tps = (double)length * _topology.WorldSize / median;
            if (peakFlopsPerSecond is double pf) mfu = Plan.FlopModel.TrainingFlopsPerToken(model.Config, length) * tps / (pf * _topology.WorldSize);
            return new TrainMeasurement(length, timedSteps, median, tps, mfu, peak, losses, null, loss.RecomputedLayers);
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            return new TrainMeasurement(length, 0, 0, 0, null, CudaMemory.Stats()?.PeakAllocated ?? 0, [], "OOM", loss.RecomputedLayers);
        }
        finally
        {
            // Free gradients and optimizer state before the next length (an OOM can leave them half-made).
            foreach (var p in model.parameters()) p.grad = null;
            trainer?.Dispose();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            if (model.Device.type == TorchSharp.DeviceType.CUDA) CudaMemory.EmptyCache();
            try { Directory.Delete(outDir, recursive: true); } catch (IOException) { }
        }
    }

    static bool IsOutOfMemory(Exception e) =>
        e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || (e.InnerException is { } inner && IsOutOfMemory(inner));
}
