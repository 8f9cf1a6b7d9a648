using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Formats.Config;
using LongContext.Training.Export;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Reports;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Training.Recipes;

/// <summary>
/// Pre-training from scratch: random init (seeded), tokenize + pack the data, train with <see cref="LongSequenceLoss"/>
/// (resuming OUT/train's latest checkpoint when there is one), export OUT/final with the tokenizer files.
/// A finished run (OUT/final/config.json exists) is not trained again. Under data parallelism every rank runs this
/// with its <paramref name="topology"/>; rank 0 writes the run folder and the export.
/// </summary>
public sealed class PretrainRecipe(Device device, ScalarType dtype, IAttentionBackend backend, ITrainingTopology? topology = null)
{
    readonly ITrainingTopology _topology = topology ?? SingleProcessTopology.Instance;

    public const string TrainFolder = "train";
    public const string FinalFolder = "final";

    public PretrainResult Run(PretrainOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        var outDir = Path.GetFullPath(options.OutDir);
        var runDir = Path.Combine(outDir, TrainFolder);
        var finalDir = Path.Combine(outDir, FinalFolder);
        long parameters = ModelMath.ParameterCount(options.Config);
        if (File.Exists(Path.Combine(finalDir, ModelConfigLoader.ConfigFileName)))
        {
            return new PretrainResult
            {
                ExportDir = finalDir, RunDir = runDir, Parameters = parameters, SequenceLength = options.SequenceLength,
                Training = RunSummary.FromMetrics(Path.Combine(runDir, MetricsLog.FileName), 0), AlreadyDone = true,
            };
        }

        using var corpus = RecipeData.OpenCorpus(options.DataPath, options.TokenizerDir, options.Config.VocabSize, Path.Combine(outDir, RecipeData.CacheFolder), ct: ct,
            maxFileBytes: options.MaxFileBytes);
        var data = RecipeData.Pack(corpus.Cache, options.SequenceLength, options.BatchSize, options.Seed, options.DocumentMask);
        using var model = ModelLoader.CreateRandom(options.Config, device, dtype, options.Seed);
        var training = new TrainingOptions
        {
            LearningRate = options.LearningRate,
            MaxSteps = options.Steps,
            WarmupSteps = options.WarmupSteps,
            GradientAccumulation = options.GradientAccumulation,
            SaveEvery = options.SaveEvery,
            Seed = options.Seed,
            DocumentMask = options.DocumentMask,
            DamagedCheckpoint = options.DamagedCheckpoint,
            OutDir = runDir,
        };
        using var trainer = new Trainer(model, data, backend, training, new LongSequenceLoss(autoCheckpointing: true), progress, topology: _topology);
        bool resumed = trainer.ResumeLatest();
        int resumedFrom = resumed ? trainer.Step : 0;
        var result = trainer.Run(ct);
        string? export = null;
        if (result.Completed)
        {
            _topology.OnWriter($"the export to {finalDir}", () =>
            {
                using (no_grad())
                    HfExporter.Export(model, finalDir, new HfExportOptions { TokenizerSourceDir = options.TokenizerDir, Overwrite = true });
            });
            export = finalDir;
        }
        return new PretrainResult
        {
            ExportDir = export,
            RunDir = runDir,
            Parameters = parameters,
            SequenceLength = options.SequenceLength,
            Training = RunSummary.FromMetrics(result.MetricsPath, result.FinalStep - result.StartStep),
            ResumedFromStep = resumedFrom,
            Interrupted = result.Interrupted,
            Data = Data.CorpusSummary.From(corpus),
            Warnings = result.Warnings,
        };
    }
}
