using System.Globalization;
using System.Text;
using System.Text.Json;
using LongContext.Core.Model;
using LongContext.Core.Weights;
using LongContext.Formats.Config;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Optim;
using LongContext.Training.Topology;

namespace LongContext.Training.Checkpoints;

/// <summary>
/// Run checkpoints of one trainer: what a checkpoint holds (weights, optimizer state, config, trainer_state.json), the
/// trajectory fingerprint that must match for a resume to continue the same run, saving and resuming. (Activation
/// checkpointing, which recomputes layers, is <see cref="ActivationCheckpointing.RecomputingLayerRunner"/>; exported
/// HF folders are <see cref="Export.HfExporter"/>'s.)
/// <para>
/// A save is cooperative (every process calls <see cref="Save"/> at the same step): rank 0 stages `step-N.tmp/`;
/// rank 0 writes weights, config and trainer state, and the optimizer state is written by rank 0 when it is
/// replicated or by every rank, its own part, when it is sharded (<see cref="OptimizerStateFiles"/>); each file is
/// hashed while written and flushed to disk; the ranks then exchange what they wrote (or why they failed), and only
/// when every part is durable does rank 0 write the index and the manifest and rename the folder. A rank that fails
/// or dies before that leaves no checkpoint a resume would accept, and a failure removes the staging folder.
/// </para>
/// <para>
/// A resume re-hashes the newest checkpoint's files (the ranks share the work) and falls back to older ones when one
/// is damaged, as <see cref="TrainingOptions.DamagedCheckpoint"/> says, naming the damaged file.
/// </para>
/// </summary>
public sealed class RunCheckpointer
{
    public const string CheckpointsFolder = "checkpoints";
    public const string OptimizerFileName = OptimizerStateFiles.ReplicatedFileName;
    public const string OptionsFileName = "training_options.json";

    readonly TrainingOptions options;
    readonly LlamaForCausalLM model;
    readonly ITrainingDataSource data;
    readonly IOptimizer optimizer;
    readonly ITrainingTopology topology;

    /// <param name="trainable">Names of the trained parameters, in order (part of the fingerprint).</param>
    public RunCheckpointer(TrainingOptions options, LlamaForCausalLM model, ITrainingDataSource data, IOptimizer optimizer, IEnumerable<string> trainable,
        ITrainingTopology? topology = null)
    {
        this.options = options;
        this.model = model;
        this.data = data;
        this.optimizer = optimizer;
        this.topology = topology ?? SingleProcessTopology.Instance;
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

    /// <summary>What one rank wrote into the staging folder (or why it could not), as exchanged before the commit.</summary>
    sealed record PartReport(string? Error, IReadOnlyList<CheckpointFile> Files, IReadOnlyDictionary<string, OptimizerStateEntry>? Optimizer);

    /// <summary>
    /// Saves a checkpoint of <paramref name="position"/> (collective; atomic; prunes to keep_last) and returns its
    /// folder. Throws a <see cref="CheckpointException"/> on every rank, naming the rank and the cause, when any
    /// part could not be written; the previous checkpoint then stays the latest.
    /// </summary>
    public string Save(RunPosition position)
    {
        int step = position.Step;
        bool writer = topology.IsWriter;
        var final = Path.Combine(Store.Directory, CheckpointStore.FolderName(step));

        string? staged = writer ? Attempt(() => Store.Stage(step)) : null;
        RaiseFailures(step, Exchange(new PartReport(staged, [], null)), "could not stage the folder");

        var tmp = Store.StagingPath(step);
        var mine = WritePart(tmp, position);
        var reports = Exchange(mine);
        RaiseFailures(step, reports, "could not write its part");

        string? committed = writer ? Attempt(() => Commit(step, tmp, reports)) : null;
        RaiseFailures(step, Exchange(new PartReport(committed, [], null)), "could not commit");
        return final;
    }

    /// <summary>This rank's files: weights, config and trainer state on rank 0, and its optimizer state.</summary>
    PartReport WritePart(string tmp, RunPosition position)
    {
        var hashed = new Dictionary<string, HashingStream>(StringComparer.Ordinal);
        Stream Through(string path, Stream file) => hashed[Path.GetFileName(path)] = new HashingStream(file);
        try
        {
            var written = new List<string>();
            if (topology.IsWriter)
            {
                var weights = SafetensorsWriter.WriteSharded(tmp, model.NamedTensors(), options.MaxShardBytes, through: Through);
                written.AddRange(weights.Files);
                if (weights.Files.Count > 1) written.Add(SafetensorsWriter.IndexFileName);
                Durable.WriteAllText(Path.Combine(tmp, ModelConfigLoader.ConfigFileName), ModelConfigWriter.ToJson(model.Config));
                written.Add(ModelConfigLoader.ConfigFileName);
                Durable.WriteAllText(Path.Combine(tmp, TrainerState.FileName), JsonSerializer.Serialize(State(position), CheckpointStore.Json) + "\n");
                written.Add(TrainerState.FileName);
            }
            IReadOnlyDictionary<string, OptimizerStateEntry>? pieces = null;
            bool replicated = optimizer.ReplicatedState;
            if (topology.IsWriter || !replicated)
            {
                var slices = optimizer.StateSlices().ToList();
                var file = replicated ? OptimizerStateFiles.ReplicatedFileName : OptimizerStateFiles.PartFileName(topology.Rank, topology.WorldSize);
                pieces = OptimizerStateFiles.WritePart(Path.Combine(tmp, file), slices, optimizer.StepCount, Through);
                written.Add(file);
                if (replicated) pieces = null;   // one whole file: no index needed
            }
            var files = written.Select(name => new CheckpointFile(name, new FileInfo(Path.Combine(tmp, name)).Length,
                hashed.TryGetValue(name, out var h) ? h.Hash : ContentHash.OfFile(Path.Combine(tmp, name)))).ToList();
            return new PartReport(null, files, pieces);
        }
        catch (Exception e)
        {
            return new PartReport(Describe(e), [], null);
        }
    }

    TrainerState State(RunPosition position) => new()
    {
        Step = position.Step,
        TokensSeen = position.TokensSeen,
        PredictedTokensSeen = position.PredictedTokensSeen,
        DataCursor = data.Cursor,
        NextLearningRate = LrSchedule.At(Math.Min(position.Step, options.MaxSteps), options),
        OptionsHash = TrajectoryHash,
        Trajectory = Trajectory,
        ElapsedSeconds = position.ElapsedSeconds,
        WorldSize = topology.WorldSize,
    };

    /// <summary>Rank 0, once every part is durable: the optimizer index (sharded state), the manifest, the rename, pruning.</summary>
    void Commit(int step, string tmp, IReadOnlyList<PartReport> reports)
    {
        var files = reports.SelectMany(r => r.Files).ToList();
        foreach (var f in files)
        {
            if (!File.Exists(Path.Combine(tmp, f.Name)))
                throw new CheckpointException($"{f.Name} was written by another rank but rank 0 does not see it in {tmp}: the run folder must be on a filesystem that every rank shares.");
        }
        var sharded = reports.Select(r => r.Optimizer).OfType<IReadOnlyDictionary<string, OptimizerStateEntry>>().ToList();
        if (sharded.Count > 0)
        {
            var index = OptimizerStateFiles.WriteIndex(tmp, optimizer.StepCount, topology.WorldSize, sharded);
            files.Add(new CheckpointFile(OptimizerStateFiles.IndexFileName, new FileInfo(index).Length, ContentHash.OfFile(index)));
        }
        Store.Commit(step, files, topology.WorldSize);
        Store.Prune(options.KeepLast);
    }

    /// <summary>A damaged-checkpoint check's result on one rank: the problem found, and whether files were missing (then even `use` cannot).</summary>
    sealed record CheckReport(string? Problem, bool Missing);

    IReadOnlyList<T> Exchange<T>(T mine) =>
        topology.AllGatherBytes(JsonSerializer.SerializeToUtf8Bytes(mine, CheckpointStore.Json))
            .Select(b => JsonSerializer.Deserialize<T>(b, CheckpointStore.Json)!).ToList();

    void RaiseFailures(int step, IReadOnlyList<PartReport> reports, string what)
    {
        var failed = reports.Select((r, rank) => (r.Error, Rank: rank)).Where(r => r.Error is not null).ToList();
        if (failed.Count == 0) return;
        if (topology.IsWriter) Store.Abandon(step);
        var previous = Store.Latest() is { } p ? $"{CheckpointStore.FolderName(p.Step)} stays the latest checkpoint" : "there is no earlier checkpoint";
        throw new CheckpointException($"checkpoint {CheckpointStore.FolderName(step)} was not saved: "
            + string.Join("; ", failed.Select(f => (topology.WorldSize > 1 ? $"rank {f.Rank} {what}: " : "") + f.Error))
            + $". Its staging folder was removed and {previous}.");
    }

    static string? Attempt(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return Describe(e);
        }
    }

    static string? Attempt(Func<string> action) => Attempt(() => { action(); });

    static string Describe(Exception e) => e is LongContextException ? e.Message : $"{e.GetType().Name}: {e.Message}";

    /// <summary>
    /// The checkpoint a resume should use (collective): the newest whose files match their manifest. Damaged newer
    /// ones are, by <paramref name="policy"/>, skipped (set aside, each named in <paramref name="notes"/>), refused,
    /// or used anyway. Null when there is none at all.
    /// </summary>
    public CheckpointInfo? ChooseForResume(DamagedCheckpointPolicy policy, ICollection<string> notes)
    {
        if (topology.IsWriter) Store.RemoveStale();
        var damaged = new List<(CheckpointInfo Checkpoint, string Problem)>();
        foreach (var candidate in Store.List().Reverse())
        {
            var (problem, filesPresent) = Check(candidate);
            if (problem is null)
            {
                foreach (var (bad, why) in damaged)
                {
                    string moved = topology.IsWriter ? Store.SetAsideDamaged(bad) : bad.Path + CheckpointStore.DamagedSuffix;
                    notes.Add($"checkpoint {bad.Path} is damaged ({why}); moved it to {moved} and resumed from the previous one, {CheckpointStore.FolderName(candidate.Step)}.");
                }
                return candidate;
            }
            if (policy == DamagedCheckpointPolicy.Fail)
                throw new CheckpointException($"checkpoint {candidate.Path} is damaged: {problem}. Rerun with --damaged-checkpoint skip to resume from the previous checkpoint, or use to resume from this one anyway.");
            if (policy == DamagedCheckpointPolicy.Use && filesPresent)
            {
                notes.Add($"checkpoint {candidate.Path} is damaged ({problem}); resuming from it anyway as --damaged-checkpoint use asks.");
                return candidate;
            }
            damaged.Add((candidate, problem));
        }
        if (damaged.Count == 0) return null;
        throw new CheckpointException($"no undamaged checkpoint in {Store.Directory}: "
            + string.Join("; ", damaged.Select(d => $"{CheckpointStore.FolderName(d.Checkpoint.Step)}: {d.Problem}"))
            + ". Resume one anyway with --damaged-checkpoint use, or move the checkpoints folder away to start over.");
    }

    /// <summary>Collective: the manifest (every rank) and the content hashes (each rank a share of the files); the first problem any rank found.</summary>
    (string? Problem, bool FilesPresent) Check(CheckpointInfo candidate)
    {
        CheckReport mine;
        try
        {
            var files = CheckpointStore.ReadManifest(candidate.Path).Files;
            mine = new CheckReport(CheckpointStore.FindDamage(candidate.Path, files.Where((_, i) => i % topology.WorldSize == topology.Rank)), false);
        }
        catch (CheckpointException e)
        {
            mine = new CheckReport(e.Message, true);
        }
        var all = Exchange(mine);
        return (all.Select(r => r.Problem).FirstOrDefault(p => p is not null), !all.Any(r => r.Missing));
    }

    /// <summary>
    /// Restores weights, optimizer state and data cursor from a checkpoint folder and returns where the run was;
    /// refuses one written with different trajectory options, data shape or model. Any world size may have written it.
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
        using (var optimizerState = OptimizerStateFiles.Open(checkpointDir))
            optimizer.LoadState(optimizerState.StepCount, optimizerState);
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
