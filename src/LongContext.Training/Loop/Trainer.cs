using System.Diagnostics;
using LongContext.Core.Autograd;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Checkpoints;
using LongContext.Training.Data;
using LongContext.Training.Loss;
using LongContext.Training.Optim;
using LongContext.Training.Plan;
using LongContext.Training.Reports;
using LongContext.Training.Topology;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Loop;

/// <summary>
/// The training loop. One step (<see cref="TrainStep"/>) reads top to bottom in nanoGPT's order, with the seams of
/// distributed training named (<see cref="ITrainingTopology"/>, identities with one process): learning rate → fetch
/// the micro-batches → shard them → global token count → micro-steps (loss sum / tokens, backward) → gradient sync →
/// clip (global norm) → collective decisions (NaN guard, stop) → optimizer step → zero grad → metrics. Around it,
/// <see cref="Run"/> logs each step (<see cref="TrainingReporter"/>), saves run checkpoints every save_every steps, at
/// the end and when cancelled (after finishing the current step) (<see cref="RunCheckpointer"/>). A run resumed from a
/// checkpoint continues bit-for-bit (same weights, optimizer moments, data cursor and step).
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly LlamaForCausalLM _model;
    readonly ITrainingDataSource _data;
    readonly IAttentionBackend _backend;
    readonly ILossComputer _loss;
    readonly ITrainingTopology _topology;
    readonly List<KeyValuePair<string, Tensor>> _trainable;
    readonly RunCheckpointer _checkpoints;
    readonly TrainingReporter _reporter;
    readonly List<string> _resumeNotes = [];
    double _elapsedBefore;
    bool _continuing; // resumed, or already ran in this object: out_dir's checkpoints are this run's
    (int Step, string Path)? _saved; // the checkpoint of this object's latest save or resume (the same on every process)

    /// <param name="model">Trained in place. Parameters matching <paramref name="trainable"/> (default: all) get requires_grad.</param>
    /// <param name="loss">Forward + summed loss of a micro-batch; default <see cref="CrossEntropyLoss"/>.</param>
    /// <param name="optimizer">Builds the optimizer over the trainable parameters; default <see cref="AdamW"/> with the
    /// options' betas, eps and weight decay (none on norms and biases), or the topology's sharded AdamW.</param>
    /// <param name="topology">How this process takes part in a distributed run; default <see cref="SingleProcessTopology"/>.</param>
    public Trainer(LlamaForCausalLM model, ITrainingDataSource data, IAttentionBackend backend, TrainingOptions options,
        ILossComputer? loss = null, IProgress<TrainingProgress>? progress = null, Func<string, bool>? trainable = null,
        OptimizerFactory? optimizer = null, ITrainingTopology? topology = null)
    {
        Options = options.Validate();
        _model = model;
        _data = data;
        _loss = loss ?? new CrossEntropyLoss();
        _topology = topology ?? SingleProcessTopology.Instance;
        _topology.CheckSequenceLength(data.SequenceLength);
        _backend = _topology.AttentionBackend(backend);
        trainable ??= _ => true;
        _trainable = [];
        foreach (var (name, p) in model.named_parameters())
        {
            bool train = trainable(name);
            p.requires_grad = train;
            if (train) _trainable.Add(new(name, p));
        }
        if (_trainable.Count == 0)
            throw new ConfigException("no trainable parameters: the trainable filter matched none of the model's parameters.");
        model.train();
        Optimizer = _topology.CreateOptimizer(_trainable, optimizer, Options.ToAdamW());
        _loss.UseTopology(_topology);
        _checkpoints = new RunCheckpointer(Options, model, data, Optimizer, _trainable.Select(p => p.Key), _topology);
        _reporter = new TrainingReporter(Options.OutDir, progress, writes: _topology.IsWriter);
    }

    public TrainingOptions Options { get; }
    public IOptimizer Optimizer { get; }
    public CheckpointStore Checkpoints => _checkpoints.Store;
    /// <summary>Optimizer steps done.</summary>
    public int Step { get; private set; }
    public long TokensSeen { get; private set; }
    public long PredictedTokensSeen { get; private set; }
    public string MetricsPath => _reporter.MetricsPath;

    /// <summary>
    /// Trains until max_steps or until <paramref name="cancellation"/> fires; on cancellation the current step
    /// finishes, a checkpoint is saved and the result says Interrupted. A final checkpoint is always saved. A run
    /// that was not resumed refuses an out_dir that already holds checkpoints (it would overwrite them).
    /// </summary>
    public TrainingResult Run(CancellationToken cancellation = default)
    {
        if (!_continuing)
        {
            _checkpoints.RefuseExisting();
            _reporter.TruncateAfter(0); // lines of a fresh run that died before its first checkpoint
            _continuing = true;
        }
        if (_topology.IsWriter) _checkpoints.WriteOptions();
        int start = Step;
        _reporter.StartRun();
        string? last = _saved is { } saved && saved.Step == Step ? saved.Path : null;
        bool interrupted = false;
        while (Step < Options.MaxSteps)
        {
            // A stop requested between steps (while the last one was logged or saved) starts no new step.
            if (_topology.Agree(StepDecision.StopCheck(cancellation.IsCancellationRequested)).StopRequested)
            {
                interrupted = true;
                break;
            }
            var (metrics, stop) = RunStep(cancellation);
            _reporter.Log(metrics, Options.MaxSteps);
            if (Options.SaveEvery > 0 && Step % Options.SaveEvery == 0)
                last = SaveCheckpoint(_reporter.Elapsed.TotalSeconds);
            if (stop)
            {
                interrupted = Step < Options.MaxSteps;
                break;
            }
        }
        if (Step > start && _saved?.Step != Step)
            last = SaveCheckpoint(_reporter.Elapsed.TotalSeconds);
        var elapsed = _reporter.Elapsed;
        _elapsedBefore += elapsed.TotalSeconds;
        var (curve, drawWarnings) = _reporter.Finish();
        var warnings = _resumeNotes.Concat(drawWarnings).ToList();
        return new TrainingResult
        {
            StartStep = start,
            FinalStep = Step,
            Interrupted = interrupted,
            Steps = _reporter.Steps.ToList(),
            LastCheckpoint = last,
            MetricsPath = MetricsPath,
            LossCurvePath = curve,
            Elapsed = elapsed,
            Warnings = warnings,
        };
    }

    /// <summary>One optimizer step over gradient_accumulation micro-batches; returns its metrics (not logged).</summary>
    public StepMetrics TrainStep() => RunStep(CancellationToken.None).Metrics;

    /// <summary>One optimizer step, top to bottom; Stop: every process agreed to stop after it.</summary>
    (StepMetrics Metrics, bool Stop) RunStep(CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        double lr = LrSchedule.At(Step, Options);

        // Fetch the step's micro-batches from the one global stream (every process reads the same ones).
        var fetched = new List<TrainingBatch>(Options.GradientAccumulation);
        for (int i = 0; i < Options.GradientAccumulation; i++) fetched.Add(_data.Next());
        // Shard: the micro-batches and tokens this process computes.
        var batches = _topology.ShardBatch(fetched);
        // Global token count: each loss sum is divided by the predicted tokens of the whole step.
        long predicted = GlobalPredictedTokens(batches);
        // Micro-steps: forward + backward, gradients accumulate on the parameters.
        double lossSum = MicroSteps(batches, predicted);
        // Gradient sync: the gradients of the global batch.
        _topology.SyncGradients(_trainable);
        // Clip by the global gradient norm.
        double gradNorm;
        using (NewDisposeScope())   // HeldGradients reads .grad: new wrappers, released here
            gradNorm = GradientClipping.ClipGradients(_topology.HeldGradients(_trainable), Options.MaxGradNorm, _topology.GlobalGradNorm);
        // Collective decisions: the summed loss, the NaN guard and the stop request, the same on every process.
        var decision = _topology.Agree(new StepDecision(lossSum, !double.IsFinite(lossSum) || !double.IsFinite(gradNorm), cancellation.IsCancellationRequested));
        double loss = decision.LossSum / predicted;
        if (decision.NonFinite)
        {
            // Stepping would write NaN into the weights, the moments and every later checkpoint.
            Optimizer.ZeroGrad();
            throw new LongContextException($"step {Step + 1}: loss {loss}, gradient norm {gradNorm} — training diverged or overflowed, and the weights were left as they were. "
                + $"Resume from the last checkpoint in {Checkpoints.Directory} with a lower learning_rate (or max_grad_norm), or check the data.");
        }
        // Optimizer step, then zero grad.
        Optimizer.Step(lr);
        Optimizer.ZeroGrad();
        if (_model.Device.type == DeviceType.CUDA) cuda.synchronize();
        clock.Stop();

        // Metrics of the step (Run logs them).
        long tokens = fetched.Sum(b => (long)b.BatchSize * b.GlobalSequenceLength);
        Step++;
        TokensSeen += tokens;
        PredictedTokensSeen += predicted;
        double seconds = clock.Elapsed.TotalSeconds;
        double tps = tokens / Math.Max(seconds, 1e-9);
        double? mfu = Options.PeakFlopsPerSecond is double peak
            ? FlopModel.TrainingFlopsPerToken(_model.Config, _data.SequenceLength) * tps / (peak * _topology.WorldSize)
            : null;
        var (memory, memoryKind) = TrainingReporter.PeakMemory(_model.Device);
        var metrics = new StepMetrics
        {
            Step = Step,
            Loss = loss,
            LearningRate = lr,
            GradNorm = gradNorm,
            Tokens = tokens,
            PredictedTokens = predicted,
            TokensSeen = TokensSeen,
            StepSeconds = seconds,
            TokensPerSecond = tps,
            Mfu = mfu,
            PeakMemoryBytes = memory,
            MemoryKind = memoryKind,
        };
        return (metrics, decision.StopRequested);
    }

    /// <summary>
    /// Forward and backward over the micro-batches, each loss sum divided by the predicted tokens of all of them,
    /// so the gradients left on the parameters are those of the mean loss over every predicted token.
    /// Returns that mean loss and the token count (the fetch-to-micro-steps part of a step, for tests).
    /// </summary>
    internal (double Loss, long PredictedTokens) AccumulateGradients(IReadOnlyList<TrainingBatch> batches)
    {
        long predicted = GlobalPredictedTokens(batches);
        return (MicroSteps(batches, predicted) / predicted, predicted);
    }

    long GlobalPredictedTokens(IReadOnlyList<TrainingBatch> batches)
    {
        long predicted = _topology.GlobalTokenCount(batches.Sum(b => b.PredictedTokens));
        if (predicted == 0)
            throw new LongContextException($"step {Step + 1}: its {Options.GradientAccumulation} micro-batch(es) have no predicted tokens (every label is {TrainingBatch.IgnoreIndex}); check the data packing.");
        return predicted;
    }

    /// <summary>Forward + backward of each micro-batch with its loss sum scaled by 1/<paramref name="predicted"/>; returns the summed loss.</summary>
    double MicroSteps(IReadOnlyList<TrainingBatch> batches, long predicted)
    {
        if (batches.Count == 0) return 0;
        using var stepScope = NewDisposeScope();
        var sums = new List<Tensor>(batches.Count);
        for (int i = 0; i < batches.Count; i++)
        {
            var host = batches[i];
            using var scope = NewDisposeScope();
            var batch = DeviceBatch.Upload(host, _model.Device, _backend, Options.DocumentMask);
            var lossSum = _loss.LossSum(_model, batch);
            if (lossSum.numel() != 1)
                throw new InvalidOperationException($"{_loss.GetType().Name}.LossSum returned shape [{string.Join(", ", lossSum.shape)}]; it must return a scalar (the summed loss).");
            _topology.Backward(lossSum / (double)predicted, i, batches.Count);
            CustomAutograd.ReleaseReturned();
            _loss.AfterBackward();
            sums.Add(lossSum.detach().to(ScalarType.Float64).MoveToOuterDisposeScope());
        }
        return stack(sums).sum().to(CPU).item<double>();
    }

    /// <summary>
    /// Saves a checkpoint of the current step (atomic; prunes to keep_last) and returns its folder. Collective with
    /// several processes: every one calls it, rank 0 commits once each has written its part.
    /// </summary>
    public string SaveCheckpoint() => SaveCheckpoint(0);

    string SaveCheckpoint(double elapsedThisRun)
    {
        var path = _checkpoints.Save(new RunPosition(Step, TokensSeen, PredictedTokensSeen, _elapsedBefore + elapsedThisRun));
        _saved = (Step, path);
        return path;
    }

    /// <summary>
    /// Resumes from the newest undamaged checkpoint in out_dir/checkpoints (content hashes checked; damaged ones
    /// handled as options.damaged_checkpoint says, each named in <see cref="ResumeNotes"/>); false when there is none.
    /// </summary>
    public bool ResumeLatest()
    {
        if (_checkpoints.ChooseForResume(Options.DamagedCheckpoint, _resumeNotes) is not { } chosen) return false;
        ResumeFrom(chosen.Path);
        return true;
    }

    /// <summary>What the last resume had to say (a damaged checkpoint skipped or used); also among the run's warnings.</summary>
    public IReadOnlyList<string> ResumeNotes => _resumeNotes;

    /// <summary>
    /// Restores weights, optimizer state, step, token counts and data cursor from a checkpoint folder; refuses one
    /// written with different trajectory options, data shape or model. metrics.jsonl loses lines after its step.
    /// </summary>
    public void ResumeFrom(string checkpointDir)
    {
        var position = _checkpoints.Resume(checkpointDir);
        Step = position.Step;
        TokensSeen = position.TokensSeen;
        PredictedTokensSeen = position.PredictedTokensSeen;
        _elapsedBefore = position.ElapsedSeconds;
        _reporter.TruncateAfter(Step);
        _continuing = true;
        _saved = (Step, checkpointDir);
    }

    public void Dispose() => Optimizer.Dispose();
}
