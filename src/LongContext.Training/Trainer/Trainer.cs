using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Core.Native;
using LongContext.Core.Weights;
using LongContext.Formats.Config;
using LongContext.Training.Data;
using LongContext.Training.Optim;
using LongContext.Training.Plan;
using LongContext.Training.Reports;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Trainer;

/// <summary>
/// The training loop (nanoGPT's order): learning rate for the step, micro-batches with the loss scaled by the
/// step's predicted-token count, global grad-norm clip, AdamW step, zero grads, metrics; checkpoints every
/// save_every steps, at the end, and when cancelled (after finishing the current step). A run resumed from a
/// checkpoint continues bit-for-bit (same weights, optimizer moments, data cursor and step).
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string CheckpointsFolder = "checkpoints";
    public const string LossCurveFileName = "loss.png";
    public const string OptimizerFileName = "optimizer.safetensors";
    public const string OptionsFileName = "training_options.json";

    readonly LlamaForCausalLM _model;
    readonly ITrainingDataSource _data;
    readonly IAttentionBackend _backend;
    readonly ILossComputer _loss;
    readonly IProgress<TrainingProgress>? _progress;
    readonly List<KeyValuePair<string, Tensor>> _trainable;
    readonly IReadOnlyDictionary<string, string> _trajectory;
    readonly string _trajectoryHash;
    double _elapsedBefore;
    bool _continuing; // resumed, or already ran in this object: out_dir's checkpoints are this run's

    /// <param name="model">Trained in place. Parameters matching <paramref name="trainable"/> (default: all) get requires_grad.</param>
    /// <param name="loss">Forward + summed loss of a micro-batch; default <see cref="CrossEntropyLoss"/>.</param>
    /// <param name="noDecay">Parameters exempt from weight decay; default <see cref="AdamW.DefaultNoDecay"/>.</param>
    public Trainer(LlamaForCausalLM model, ITrainingDataSource data, IAttentionBackend backend, TrainingOptions options,
        ILossComputer? loss = null, IProgress<TrainingProgress>? progress = null,
        Func<string, bool>? noDecay = null, Func<string, bool>? trainable = null)
    {
        Options = options.Validate();
        _model = model;
        _data = data;
        _backend = backend;
        _loss = loss ?? new CrossEntropyLoss();
        _progress = progress;
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
        Optimizer = new AdamW(_trainable, options.ToAdamW(), noDecay);
        Checkpoints = new CheckpointStore(Path.Combine(options.OutDir, CheckpointsFolder));
        _trajectory = BuildTrajectory();
        _trajectoryHash = TrainingOptions.Hash(_trajectory);
    }

    public TrainingOptions Options { get; }
    public AdamW Optimizer { get; }
    public CheckpointStore Checkpoints { get; }
    /// <summary>Optimizer steps done.</summary>
    public int Step { get; private set; }
    public long TokensSeen { get; private set; }
    public long PredictedTokensSeen { get; private set; }
    public string MetricsPath => Path.Combine(Options.OutDir, MetricsLog.FileName);

    /// <summary>
    /// Trains until max_steps or until <paramref name="cancellation"/> fires; on cancellation the current step
    /// finishes, a checkpoint is saved and the result says Interrupted. A final checkpoint is always saved. A run
    /// that was not resumed refuses an out_dir that already holds checkpoints (it would overwrite them).
    /// </summary>
    public TrainingResult Run(CancellationToken cancellation = default)
    {
        if (!_continuing)
        {
            if (Checkpoints.Latest() is { } existing)
                throw new ConfigException($"out_dir {Options.OutDir} already holds checkpoints (up to step {existing.Step}); "
                    + "resume them (Trainer.ResumeLatest) or start the new run in another out_dir.");
            MetricsLog.TruncateAfter(MetricsPath, 0); // lines of a fresh run that died before its first checkpoint
            _continuing = true;
        }
        Directory.CreateDirectory(Options.OutDir);
        var optionsPath = Path.Combine(Options.OutDir, OptionsFileName);
        File.WriteAllText(optionsPath + ".tmp", JsonSerializer.Serialize(Options, TrainingOptions.JsonOptions) + "\n", new UTF8Encoding(false));
        File.Move(optionsPath + ".tmp", optionsPath, overwrite: true);
        int start = Step;
        var clock = Stopwatch.StartNew();
        var steps = new List<StepMetrics>();
        string? last = Checkpoints.Latest() is { } latest && latest.Step == Step ? latest.Path : null;
        bool interrupted = false;
        while (Step < Options.MaxSteps)
        {
            if (cancellation.IsCancellationRequested)
            {
                interrupted = true;
                break;
            }
            var m = TrainStep();
            MetricsLog.Append(MetricsPath, m);
            steps.Add(m);
            if (_progress is not null)
            {
                double perStep = clock.Elapsed.TotalSeconds / steps.Count;
                double avgTps = steps.Sum(s => s.Tokens) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                _progress.Report(new TrainingProgress(Step, Options.MaxSteps, m, avgTps, clock.Elapsed,
                    TimeSpan.FromSeconds(perStep * (Options.MaxSteps - Step))));
            }
            if (Options.SaveEvery > 0 && Step % Options.SaveEvery == 0)
                last = SaveCheckpoint(clock.Elapsed.TotalSeconds);
        }
        if (Step > start && Checkpoints.Latest()?.Step != Step)
            last = SaveCheckpoint(clock.Elapsed.TotalSeconds);
        _elapsedBefore += clock.Elapsed.TotalSeconds;

        string? curve = null;
        var warnings = new List<string>();
        var all = MetricsLog.Read(MetricsPath);
        if (all.Count > 0)
        {
            try
            {
                curve = LossCurve.Write(all, Path.Combine(Options.OutDir, LossCurveFileName));
            }
            catch (Exception e) when (e is IOException or TypeInitializationException or DllNotFoundException or InvalidOperationException)
            {
                // The plot is a convenience: the run and its checkpoint are already saved.
                warnings.Add($"loss curve not written: {e.Message}");
            }
        }
        return new TrainingResult
        {
            StartStep = start,
            FinalStep = Step,
            Interrupted = interrupted,
            Steps = steps,
            LastCheckpoint = last,
            MetricsPath = MetricsPath,
            LossCurvePath = curve,
            Elapsed = clock.Elapsed,
            Warnings = warnings,
        };
    }

    /// <summary>One optimizer step over gradient_accumulation micro-batches; returns its metrics (not logged).</summary>
    public StepMetrics TrainStep()
    {
        var clock = Stopwatch.StartNew();
        double lr = LrSchedule.At(Step, Options);
        var batches = new List<TrainingBatch>(Options.GradientAccumulation);
        for (int i = 0; i < Options.GradientAccumulation; i++) batches.Add(_data.Next());
        var (loss, predicted) = AccumulateGradients(batches);
        double gradNorm = GradientClipping.ClipGlobalNorm(_trainable.Select(p => p.Value), Options.MaxGradNorm);
        if (!double.IsFinite(gradNorm) || !double.IsFinite(loss))
        {
            // Stepping would write NaN into the weights, the moments and every later checkpoint.
            Optimizer.ZeroGrad();
            throw new LongContextException($"step {Step + 1}: loss {loss}, gradient norm {gradNorm} — training diverged or overflowed, and the weights were left as they were. "
                + $"Resume from the last checkpoint in {Checkpoints.Directory} with a lower learning_rate (or max_grad_norm), or check the data.");
        }
        Optimizer.Step(lr);
        Optimizer.ZeroGrad();
        if (_model.Device.type == DeviceType.CUDA) cuda.synchronize();
        clock.Stop();

        long tokens = batches.Sum(b => (long)b.BatchSize * b.SequenceLength);
        Step++;
        TokensSeen += tokens;
        PredictedTokensSeen += predicted;
        double seconds = clock.Elapsed.TotalSeconds;
        double tps = tokens / Math.Max(seconds, 1e-9);
        double? mfu = Options.PeakFlopsPerSecond is double peak
            ? FlopModel.TrainingFlopsPerToken(_model.Config, _data.SequenceLength) * tps / peak
            : null;
        var (memory, memoryKind) = PeakMemory();
        return new StepMetrics
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
    }

    /// <summary>
    /// Forward and backward over the micro-batches, each loss sum divided by the predicted tokens of all of them,
    /// so the gradients left on the parameters are those of the mean loss over every predicted token.
    /// Returns that mean loss and the token count.
    /// </summary>
    internal (double Loss, long PredictedTokens) AccumulateGradients(IReadOnlyList<TrainingBatch> batches)
    {
        long predicted = batches.Sum(b => b.PredictedTokens);
        if (predicted == 0)
            throw new LongContextException($"step {Step + 1}: its {batches.Count} micro-batch(es) have no predicted tokens (every label is {TrainingBatch.IgnoreIndex}); check the data packing.");
        using var stepScope = NewDisposeScope();
        var sums = new List<Tensor>(batches.Count);
        foreach (var host in batches)
        {
            using var scope = NewDisposeScope();
            var batch = Upload(host);
            var lossSum = _loss.LossSum(_model, batch, _backend);
            if (lossSum.numel() != 1)
                throw new InvalidOperationException($"{_loss.GetType().Name}.LossSum returned shape [{string.Join(", ", lossSum.shape)}]; it must return a scalar (the summed loss).");
            (lossSum / (double)predicted).backward();
            _loss.AfterBackward();
            sums.Add(lossSum.detach().to(ScalarType.Float64).MoveToOuterDisposeScope());
        }
        double total = stack(sums).sum().to(CPU).item<double>();
        return (total / predicted, predicted);
    }

    DeviceBatch Upload(TrainingBatch b)
    {
        long n = (long)b.BatchSize * b.SequenceLength;
        if (b.InputIds.Length != n || b.Labels.Length != n || b.PositionIds.Length != n)
            throw new LongContextException($"training batch is [{b.BatchSize}, {b.SequenceLength}] but has {b.InputIds.Length} ids, {b.Labels.Length} labels, {b.PositionIds.Length} positions.");
        long[] shape = [b.BatchSize, b.SequenceLength];
        var device = _model.Device;
        return new DeviceBatch(tensor(b.InputIds, shape).to(device), tensor(b.Labels, shape).to(device), tensor(b.PositionIds, shape).to(device), b);
    }

    (long Bytes, string Kind) PeakMemory()
    {
        if (_model.Device.type == DeviceType.CUDA && CudaMemory.Stats(CudaDevice.IndexOf(_model.Device)) is { } stats)
            return (stats.PeakAllocated, "cuda_peak_allocated");
        using var process = Process.GetCurrentProcess();
        return (process.PeakWorkingSet64, "process_peak_working_set");
    }

    /// <summary>Saves a checkpoint of the current step (atomic; prunes to keep_last) and returns its folder.</summary>
    public string SaveCheckpoint() => SaveCheckpoint(0);

    string SaveCheckpoint(double elapsedThisRun)
    {
        var path = Checkpoints.Save(Step, dir =>
        {
            SafetensorsWriter.WriteSharded(dir, _model.NamedTensors(), Options.MaxShardBytes);
            SafetensorsWriter.Write(Path.Combine(dir, OptimizerFileName), Optimizer.StateTensors(),
                new Dictionary<string, string> { ["format"] = "pt", ["step"] = Optimizer.StepCount.ToString(CultureInfo.InvariantCulture) });
            ModelConfigWriter.WriteToDirectory(_model.Config, dir);
            var state = new TrainerState
            {
                Step = Step,
                TokensSeen = TokensSeen,
                PredictedTokensSeen = PredictedTokensSeen,
                DataCursor = _data.Cursor,
                NextLearningRate = LrSchedule.At(Math.Min(Step, Options.MaxSteps), Options),
                OptionsHash = _trajectoryHash,
                Trajectory = _trajectory,
                ElapsedSeconds = _elapsedBefore + elapsedThisRun,
            };
            File.WriteAllText(Path.Combine(dir, TrainerState.FileName), JsonSerializer.Serialize(state, CheckpointStore.Json) + "\n", new UTF8Encoding(false));
        });
        Checkpoints.Prune(Options.KeepLast);
        return path;
    }

    /// <summary>Resumes from the newest complete checkpoint in out_dir/checkpoints; false when there is none.</summary>
    public bool ResumeLatest()
    {
        if (Checkpoints.Latest() is not { } latest) return false;
        ResumeFrom(latest.Path);
        return true;
    }

    /// <summary>
    /// Restores weights, optimizer state, step, token counts and data cursor from a checkpoint folder; refuses one
    /// written with different trajectory options, data shape or model. metrics.jsonl loses lines after its step.
    /// </summary>
    public void ResumeFrom(string checkpointDir)
    {
        var manifest = CheckpointStore.ReadManifest(checkpointDir);
        var statePath = Path.Combine(checkpointDir, TrainerState.FileName);
        TrainerState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath), CheckpointStore.Json)
                ?? throw new CheckpointException($"{statePath}: empty.");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{statePath}: not a trainer state ({e.Message}).");
        }
        if (state.FormatVersion != TrainerState.CurrentFormatVersion)
            throw new CheckpointException($"{statePath}: format_version {state.FormatVersion}, this build reads {TrainerState.CurrentFormatVersion}.");
        if (state.OptionsHash != _trajectoryHash)
        {
            var diffs = _trajectory.Keys.Union(state.Trajectory.Keys).Order(StringComparer.Ordinal)
                .Where(k => state.Trajectory.GetValueOrDefault(k) != _trajectory.GetValueOrDefault(k))
                .Select(k => $"{k}: checkpoint {state.Trajectory.GetValueOrDefault(k) ?? "(absent)"}, now {_trajectory.GetValueOrDefault(k) ?? "(absent)"}");
            throw new CheckpointException($"{checkpointDir} was written by a run with different settings ({string.Join("; ", diffs)}). "
                + "Resume with the same options, data and model, or start a new run in another out_dir.");
        }
        if (state.Step != manifest.Step)
            throw new CheckpointException($"{checkpointDir}: manifest says step {manifest.Step}, {TrainerState.FileName} says {state.Step}.");

        using (var weights = SafetensorsCheckpoint.Open(checkpointDir))
            weights.LoadInto(_model.NamedTensors());
        var optimizerPath = Path.Combine(checkpointDir, OptimizerFileName);
        using (var optimizerFile = SafetensorsFile.Open(optimizerPath))
        {
            long optimizerSteps = optimizerFile.Metadata.TryGetValue("step", out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new CheckpointException($"{optimizerPath}: metadata has no \"step\".");
            Optimizer.LoadState(optimizerSteps,
                name => optimizerFile.Contains(name) ? optimizerFile.LoadTensor(name, ScalarType.Float32, _model.Device) : null,
                optimizerPath);
        }
        _data.Seek(state.DataCursor);
        Step = state.Step;
        TokensSeen = state.TokensSeen;
        PredictedTokensSeen = state.PredictedTokensSeen;
        _elapsedBefore = state.ElapsedSeconds;
        MetricsLog.TruncateAfter(MetricsPath, Step);
        _continuing = true;
    }

    /// <summary>Trajectory options plus what the data and model must keep for a resume to be the same run.</summary>
    IReadOnlyDictionary<string, string> BuildTrajectory()
    {
        var fields = new SortedDictionary<string, string>(Options.TrajectoryFields().ToDictionary(), StringComparer.Ordinal)
        {
            ["data.batch_size"] = _data.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["data.sequence_length"] = _data.SequenceLength.ToString(CultureInfo.InvariantCulture),
            ["model.dtype"] = _model.Dtype.ToString(),
            ["model.config_sha256"] = Sha256(ModelConfigWriter.ToJson(_model.Config)),
            ["model.trainable_sha256"] = Sha256(string.Join("\n", _trainable.Select(p => p.Key))),
        };
        return fields;
    }

    static string Sha256(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];

    public void Dispose() => Optimizer.Dispose();
}
