using System.Globalization;
using System.Text;
using System.Text.Json;
using LongContext.Core.Model;
using LongContext.Core.Weights;
using LongContext.Formats.Config;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Optim;
using static TorchSharp.torch;

namespace LongContext.Training.Checkpoints;

/// <summary>
/// Run checkpoints of one trainer: what a checkpoint holds (weights, optimizer state, config, trainer_state.json), the
/// trajectory fingerprint that must match for a resume to continue the same run, saving (atomic, pruned to keep_last),
/// resuming (weights, optimizer, data cursor restored; mismatches refused with the differing keys named), and the
/// run folder's training_options.json. (Activation checkpointing, which recomputes layers, is
/// <see cref="ActivationCheckpointing.RecomputingLayerRunner"/>; exported HF folders are <see cref="Export.HfExporter"/>'s.)
/// </summary>
public sealed class RunCheckpointer
{
    public const string CheckpointsFolder = "checkpoints";
    public const string OptimizerFileName = "optimizer.safetensors";
    public const string OptionsFileName = "training_options.json";

    readonly TrainingOptions options;
    readonly LlamaForCausalLM model;
    readonly ITrainingDataSource data;
    readonly IOptimizer optimizer;

    /// <param name="trainable">Names of the trained parameters, in order (part of the fingerprint).</param>
    public RunCheckpointer(TrainingOptions options, LlamaForCausalLM model, ITrainingDataSource data, IOptimizer optimizer, IEnumerable<string> trainable)
    {
        this.options = options;
        this.model = model;
        this.data = data;
        this.optimizer = optimizer;
        Store = new CheckpointStore(Path.Combine(options.OutDir, CheckpointsFolder));
        Trajectory = BuildTrajectory(trainable);
        TrajectoryHash = TrainingOptions.Hash(Trajectory);
    }

    public CheckpointStore Store { get; }

    /// <summary>Trajectory options plus what the data and model must keep for a resume to be the same run.</summary>
    public IReadOnlyDictionary<string, string> Trajectory { get; }
    public string TrajectoryHash { get; }

    public CheckpointInfo? Latest() => Store.Latest();

    /// <summary>A run that was not resumed must not write over another run's checkpoints.</summary>
    public void RefuseExisting()
    {
        if (Store.Latest() is { } existing)
            throw new ConfigException($"out_dir {options.OutDir} already holds checkpoints (up to step {existing.Step}); "
                + "resume them (Trainer.ResumeLatest) or start the new run in another out_dir.");
    }

    /// <summary>Writes out_dir/training_options.json (the options of the current Run).</summary>
    public void WriteOptions()
    {
        Directory.CreateDirectory(options.OutDir);
        var path = Path.Combine(options.OutDir, OptionsFileName);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(options, TrainingOptions.JsonOptions) + "\n", new UTF8Encoding(false));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Saves a checkpoint of <paramref name="position"/> (atomic; prunes to keep_last) and returns its folder.</summary>
    public string Save(RunPosition position)
    {
        var path = Store.Save(position.Step, dir =>
        {
            SafetensorsWriter.WriteSharded(dir, model.NamedTensors(), options.MaxShardBytes);
            SafetensorsWriter.Write(Path.Combine(dir, OptimizerFileName), optimizer.StateTensors(),
                new Dictionary<string, string> { ["format"] = "pt", ["step"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture) });
            ModelConfigWriter.WriteToDirectory(model.Config, dir);
            var state = new TrainerState
            {
                Step = position.Step,
                TokensSeen = position.TokensSeen,
                PredictedTokensSeen = position.PredictedTokensSeen,
                DataCursor = data.Cursor,
                NextLearningRate = LrSchedule.At(Math.Min(position.Step, options.MaxSteps), options),
                OptionsHash = TrajectoryHash,
                Trajectory = Trajectory,
                ElapsedSeconds = position.ElapsedSeconds,
            };
            File.WriteAllText(Path.Combine(dir, TrainerState.FileName), JsonSerializer.Serialize(state, CheckpointStore.Json) + "\n", new UTF8Encoding(false));
        });
        Store.Prune(options.KeepLast);
        return path;
    }

    /// <summary>
    /// Restores weights, optimizer state and data cursor from a checkpoint folder and returns where the run was;
    /// refuses one written with different trajectory options, data shape or model.
    /// </summary>
    public RunPosition Resume(string checkpointDir)
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
        if (state.OptionsHash != TrajectoryHash)
        {
            var diffs = Trajectory.Keys.Union(state.Trajectory.Keys).Order(StringComparer.Ordinal)
                .Where(k => state.Trajectory.GetValueOrDefault(k) != Trajectory.GetValueOrDefault(k))
                .Select(k => $"{k}: checkpoint {state.Trajectory.GetValueOrDefault(k) ?? "(absent)"}, now {Trajectory.GetValueOrDefault(k) ?? "(absent)"}");
            throw new CheckpointException($"{checkpointDir} was written by a run with different settings ({string.Join("; ", diffs)}). "
                + "Resume with the same options, data and model, or start a new run in another out_dir.");
        }
        if (state.Step != manifest.Step)
            throw new CheckpointException($"{checkpointDir}: manifest says step {manifest.Step}, {TrainerState.FileName} says {state.Step}.");

        using (var weights = SafetensorsCheckpoint.Open(checkpointDir))
            weights.LoadInto(model.NamedTensors());
        var optimizerPath = Path.Combine(checkpointDir, OptimizerFileName);
        using (var optimizerFile = SafetensorsFile.Open(optimizerPath))
        {
            long optimizerSteps = optimizerFile.Metadata.TryGetValue("step", out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : throw new CheckpointException($"{optimizerPath}: metadata has no \"step\".");
            optimizer.LoadState(optimizerSteps,
                name => optimizerFile.Contains(name) ? optimizerFile.LoadTensor(name, ScalarType.Float32, model.Device) : null,
                optimizerPath);
        }
        data.Seek(state.DataCursor);
        return new RunPosition(state.Step, state.TokensSeen, state.PredictedTokensSeen, state.ElapsedSeconds);
    }

    IReadOnlyDictionary<string, string> BuildTrajectory(IEnumerable<string> trainable)
    {
        var fields = new SortedDictionary<string, string>(options.TrajectoryFields().ToDictionary(), StringComparer.Ordinal)
        {
            ["data.batch_size"] = data.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["data.sequence_length"] = data.SequenceLength.ToString(CultureInfo.InvariantCulture),
            ["model.dtype"] = model.Dtype.ToString(),
            ["model.config_sha256"] = Sha256(ModelConfigWriter.ToJson(model.Config)),
            ["model.trainable_sha256"] = Sha256(string.Join("\n", trainable)),
        };
        return fields;
    }

    static string Sha256(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
