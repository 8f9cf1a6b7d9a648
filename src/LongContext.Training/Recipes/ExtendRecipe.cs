using System.Text;
using System.Text.Json;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Core.Rope;
using LongContext.Formats.Config;
using LongContext.Formats;
using LongContext.Training.Export;
using LongContext.Training.Loop;
using LongContext.Training.Lora;
using LongContext.Training.Loss;
using LongContext.Training.Plan;
using LongContext.Training.Reports;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Training.Recipes;

/// <summary>
/// Progressive context extension. θ of every stage comes from the planner's rule applied to the STARTING model
/// (its rope_theta and trained length), as `longctx plan` prints it. Per stage: load the previous stage's export
/// (the starting model for the first), give it the stage's config (plain RoPE with the stage θ,
/// max_position_embeddings = stage length; same weights), pack the data at the stage length, train (resuming
/// OUT/stage-&lt;len&gt;/train's latest checkpoint), export OUT/stage-&lt;len&gt;/final, run the evaluator into
/// OUT/stage-&lt;len&gt;/niah, write stage.json. With a LoRA rank, only adapters train and the export merges them. A stage whose final/config.json exists is not trained again.
/// Each stage model is loaded once, straight with its stage config (no second copy of the weights). Under data
/// parallelism every rank runs this with its <paramref name="topology"/>: rank 0 writes exports, NIAH results and
/// stage.json while the others wait for it (they load the next stage from its export).
/// </summary>
/// <param name="loadModel">Loads a stage's model from a folder with the config changed by the function it is given;
/// default <see cref="ModelLoader.Load"/> onto the device in the dtype.</param>
public sealed class ExtendRecipe(Device device, ScalarType dtype, IAttentionBackend backend, StageModelLoader? loadModel = null,
    ITrainingTopology? topology = null)
{
    readonly ITrainingTopology _topology = topology ?? SingleProcessTopology.Instance;
    readonly StageModelLoader _loadModel = loadModel ?? ((dir, configure) => ModelLoader.Load(dir, device, dtype, configure: configure));

    public const string TrainFolder = "train";
    public const string FinalFolder = "final";
    public const string NiahFolder = "niah";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Folder name of a stage: stage-64K, stage-1M, stage-1000.</summary>
    public static string StageFolder(long length) => "stage-" + ContextLength.Format(length);

    /// <summary>θ of each stage for a starting config (what <see cref="RunAsync"/> will use).</summary>
    public static IReadOnlyList<double> StageThetas(ModelConfig start, ExtendOptions options) =>
        options.Theta.ThetasFor(RopeBaseline.From(start), options.Stages);

    /// <summary>The stage model's config: same architecture, plain RoPE with θ, max_position_embeddings = length.</summary>
    public static ModelConfig StageConfig(ModelConfig previous, double theta, long length) => previous with
    {
        Rope = new RopeParameters { RopeType = "default", RopeTheta = theta, PartialRotaryFactor = previous.Rope.PartialRotaryFactor },
        MaxPositionEmbeddings = checked((int)length),
    };

    /// <summary>Runs the stages on the calling thread (it holds the CUDA device and the dispose scopes); the task is complete when it returns.</summary>
    public Task<ExtendResult> RunAsync(ExtendOptions options, StageEvaluator? evaluator = null, IProgress<ExtendProgress>? progress = null,
        CancellationToken ct = default)
    {
        try
        {
            return Task.FromResult(Run(options, evaluator, progress, ct));
        }
        catch (Exception e)
        {
            return Task.FromException<ExtendResult>(e);
        }
    }

    ExtendResult Run(ExtendOptions options, StageEvaluator? evaluator, IProgress<ExtendProgress>? progress, CancellationToken ct)
    {
        options.Validate();
        // Every stage's length must shard over the context-parallel ranks: refuse before the first stage trains.
        for (int i = 0; i < options.Stages.Count; i++)
            _topology.CheckSequenceLength(options.Stages[i], $"--stages: stage {i + 1} ({options.Stages[i]} tokens)");
        var outDir = Path.GetFullPath(options.OutDir);
        var startDir = Path.GetFullPath(options.ModelDir);
        var startConfig = ModelConfigLoader.LoadFromDirectory(startDir);
        var thetas = StageThetas(startConfig, options);
        Directory.CreateDirectory(outDir);

        var results = new List<ExtendStageResult>();
        string source = startDir;
        Data.TokenCacheResult? corpus = null;
        Data.CorpusSummary? dataSummary = null;
        try
        {
            for (int i = 0; i < options.Stages.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                long length = options.Stages[i];
                var stageDir = Path.Combine(outDir, StageFolder(length));
                var finalDir = Path.Combine(stageDir, FinalFolder);
                var trainDir = Path.Combine(stageDir, TrainFolder);
                bool done = File.Exists(Path.Combine(finalDir, ModelConfigLoader.ConfigFileName));
                ExtendStageResult stage;
                if (done)
                {
                    progress?.Report(new ExtendProgress(i + 1, options.Stages.Count, length, "skip", null));
                    stage = ReadStage(stageDir) ?? new ExtendStageResult
                    {
                        Index = i + 1, Length = length, RopeTheta = thetas[i], StageDir = stageDir, ExportDir = finalDir, StartedFrom = source,
                        Training = RunSummary.FromMetrics(Path.Combine(trainDir, MetricsLog.FileName), 0),
                    };
                    stage = stage with { Skipped = true };
                }
                else
                {
                    progress?.Report(new ExtendProgress(i + 1, options.Stages.Count, length, "data", null));
                    if (corpus is null)
                    {
                        corpus = RecipeData.OpenCorpus(options.DataPath, startDir, startConfig.VocabSize, Path.Combine(outDir, RecipeData.CacheFolder), ct: ct,
                            maxFileBytes: options.MaxFileBytes);
                        dataSummary = Data.CorpusSummary.From(corpus);
                        foreach (var line in dataSummary.Lines()) progress?.Report(new ExtendProgress(i + 1, options.Stages.Count, length, line, null));
                    }
                    var data = RecipeData.Pack(corpus.Cache, (int)length, options.BatchSize, options.Seed + i, options.DocumentMask);
                    using var model = _loadModel(source, previous => StageConfig(previous, thetas[i], length));
                    LoraAdapters? lora = null;
                    if (options.LoraOptions() is { } loraOptions)
                    {
                        manual_seed(options.Seed + i); // adapter A init; a resume overwrites it with the checkpoint's
                        lora = LoraAdapters.Apply(model, loraOptions);
                    }
                    var trainable = lora?.TrainableParameters.Select(p => p.Name).ToHashSet();
                    var training = new TrainingOptions
                    {
                        LearningRate = options.LearningRate,
                        MaxSteps = options.StepsFor(length),
                        WarmupSteps = Math.Min(options.WarmupSteps, options.StepsFor(length)),
                        GradientAccumulation = options.GradientAccumulation,
                        SaveEvery = options.SaveEvery,
                        Seed = options.Seed,
                        DocumentMask = options.DocumentMask,
                        DamagedCheckpoint = options.DamagedCheckpoint,
                        OutDir = trainDir,
                    };
                    var relay = progress is null ? null : new InlineProgress<TrainingProgress>(p =>
                        progress.Report(new ExtendProgress(i + 1, options.Stages.Count, length, "train", p)));
                    using var trainer = new Trainer(model, data, backend, training, new LongSequenceLoss(autoCheckpointing: true), relay,
                        trainable: trainable is null ? null : trainable.Contains, topology: _topology);
                    int resumedFrom = trainer.ResumeLatest() ? trainer.Step : 0;
                    var run = trainer.Run(ct);
                    stage = new ExtendStageResult
                    {
                        Index = i + 1, Length = length, RopeTheta = thetas[i], StageDir = stageDir, StartedFrom = source,
                        Training = RunSummary.FromMetrics(run.MetricsPath, run.FinalStep - run.StartStep),
                        ResumedFromStep = resumedFrom, Interrupted = run.Interrupted, LoraRank = options.LoraRank, Warnings = run.Warnings,
                    };
                    if (run.Interrupted)
                    {
                        results.Add(stage);
                        return new ExtendResult(results, null, true) { Data = dataSummary };
                    }
                    progress?.Report(new ExtendProgress(i + 1, options.Stages.Count, length, "export", null));
                    _topology.OnWriter($"the stage {i + 1} export to {finalDir}", () => Export(model, lora, finalDir, startDir));
                    stage = stage with { ExportDir = finalDir };
                }

                if (options.NiahDepths > 0 && evaluator is not null && stage.NiahScore is null)
                {
                    progress?.Report(new ExtendProgress(i + 1, options.Stages.Count, length, "niah", null));
                    var niahDir = Path.Combine(stageDir, NiahFolder);
                    double? score = null;
                    _topology.OnWriter($"the stage {i + 1} NIAH check", () => score = evaluator(finalDir, (int)length, niahDir, ct).GetAwaiter().GetResult());
                    stage = stage with { NiahScore = score, NiahDir = niahDir };
                }
                var written = stage with { Skipped = false };
                _topology.OnWriter($"{ExtendStageResult.FileName} of stage {i + 1}", () => WriteStage(stageDir, written));
                results.Add(stage);
                source = finalDir;
            }
        }
        finally
        {
            corpus?.Dispose();
        }
        return new ExtendResult(results, source, false) { Data = dataSummary };
    }

    /// <summary>Writes the stage model as an HF folder; with LoRA, the adapters merged into the base weights (no second model).</summary>
    static void Export(LlamaForCausalLM model, LoraAdapters? lora, string finalDir, string tokenizerDir)
    {
        var export = new HfExportOptions { TokenizerSourceDir = tokenizerDir, Overwrite = true };
        using var _ = no_grad();
        if (lora is null)
        {
            HfExporter.Export(model, finalDir, export);
            return;
        }
        var tensors = lora.MergedTensors();
        try
        {
            HfExporter.Export(tensors, model.Config, model.Dtype, finalDir, export);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    static ExtendStageResult? ReadStage(string stageDir)
    {
        var path = Path.Combine(stageDir, ExtendStageResult.FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<ExtendStageResult>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not a stage summary ({e.Message}); delete it and rerun to rebuild it.");
        }
    }

    static void WriteStage(string stageDir, ExtendStageResult stage)
    {
        var path = Path.Combine(stageDir, ExtendStageResult.FileName);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(stage, Json) + "\n", new UTF8Encoding(false));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>IProgress that reports on the calling thread.</summary>
    sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
