using System.Diagnostics;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Core.Rope;
using LongContext.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Quickstart;

/// <summary>
/// The whole recipe on the embedded toy task: pretrain at L₀, evaluate the needle grid, raise θ and train briefly at
/// the extended length, evaluate again. CPU, fp32; writes nothing (see <see cref="QuickstartReport"/>).
/// </summary>
public sealed class QuickstartRunner(IQuickstartTrainer? trainer = null)
{
    private readonly IQuickstartTrainer _trainer = trainer ?? new ProjectQuickstartTrainer();
    private readonly IAttentionBackend _backend = new SdpaAttentionBackend();

    /// <summary>The toy model: a Llama (RMSNorm, SwiGLU, RoPE, GQA) sized by the options, from the `tiny` preset.</summary>
    public static ModelConfig ModelConfigFor(QuickstartOptions o, RecallVocabulary vocab) => ModelPresets.Get("tiny") with
    {
        VocabSize = vocab.Size,
        HiddenSize = o.HiddenSize,
        IntermediateSize = o.IntermediateSize,
        NumHiddenLayers = o.Layers,
        NumAttentionHeads = o.Heads,
        NumKeyValueHeads = o.KeyValueHeads,
        HeadDim = o.HiddenSize / o.Heads,
        MaxPositionEmbeddings = o.PretrainLength,
        Rope = new RopeParameters { RopeType = "default", RopeTheta = o.RopeTheta },
        BosTokenId = null,
        EosTokenIds = [],
    };

    /// <summary>θ for the extended length by the chosen rule.</summary>
    public static double ExtendedTheta(QuickstartOptions o, int headDim) => o.Theta switch
    {
        ThetaChoice.ScalingLaw => ScalingLaw.CriticalTheta(o.RopeTheta, o.PretrainLength, o.ExtendedLength),
        ThetaChoice.Ntk => ScalingLaw.NtkAwareTheta(o.RopeTheta, o.ExtensionFactor, headDim),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Theta, "unknown θ rule."),
    };

    public QuickstartResult Run(QuickstartOptions options, IProgress<QuickstartProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        var wall = Stopwatch.StartNew();
        var cpu0 = CpuNow();
        var vocab = new RecallVocabulary { KeyCount = options.KeyCount, ValueCount = options.ValueCount };
        var baseConfig = ModelConfigFor(options, vocab);
        var grid = new NeedleGrid(vocab, options.EvalLengths, options.DepthPercents, options.EvalSamplesPerCell, options.EvalSeed);

        // 1. Pretrain at L₀.
        using var model = ModelLoader.CreateRandom(baseConfig, CPU, ScalarType.Float32, options.Seed);
        foreach (var p in model.parameters()) p.requires_grad = true;
        var pretrainData = new RecallCorpus(vocab, options.PretrainLength, options.PretrainBatch, options.Seed, options.QueryRate);
        var pretrain = _trainer.Train(model, pretrainData, new TrainingSchedule
        {
            MaxSteps = options.PretrainMaxSteps,
            PeakLearningRate = options.PretrainLearningRate,
            WarmupSteps = options.PretrainWarmup,
            StopBelowLoss = options.PretrainStopLoss,
        }, Relay(progress, QuickstartPhase.Pretrain), ct);

        // 2. The grid before extension.
        var evalWall = Stopwatch.StartNew();
        var evalCpu0 = CpuNow();
        var before = Evaluate(model, grid, progress, QuickstartPhase.EvalBefore, ct);

        // 3. Same weights, θ raised, then brief training at the extended length.
        var extendedConfig = baseConfig with
        {
            MaxPositionEmbeddings = options.ExtendedLength,
            Rope = baseConfig.Rope with { RopeTheta = ExtendedTheta(options, baseConfig.HeadDim) },
        };
        using var extended = WithConfig(model, extendedConfig);
        var longest = new NeedleGrid(vocab, [options.ExtendedLength], options.DepthPercents, options.EvalSamplesPerCell, options.EvalSeed);
        var thetaOnly = NeedleEvaluator.Score(longest, NeedleEvaluator.ModelPredictor(extended, _backend), ct: ct).ByLength()[0];
        var evalWallSoFar = evalWall.Elapsed;
        var evalCpuSoFar = CpuNow() - evalCpu0;

        var extendData = new RecallCorpus(vocab, options.ExtendedLength, options.ExtendBatch, options.Seed + 1, options.QueryRate);
        var extend = _trainer.Train(extended, extendData, new TrainingSchedule
        {
            MaxSteps = options.ExtendSteps,
            PeakLearningRate = options.ExtendLearningRate,
            WarmupSteps = options.ExtendWarmup,
        }, Relay(progress, QuickstartPhase.Extend), ct);

        // 4. The grid after extension.
        evalWall.Restart();
        var evalCpu1 = CpuNow();
        var after = Evaluate(extended, grid, progress, QuickstartPhase.EvalAfter, ct);

        return new QuickstartResult
        {
            Options = options,
            Vocabulary = vocab,
            BaseConfig = baseConfig,
            ExtendedConfig = extendedConfig,
            Parameters = model.parameters().Sum(p => p.numel()),
            Threads = threads,
            Pretrain = pretrain,
            Before = before,
            ThetaOnlyAccuracyAtExtended = thetaOnly,
            Extend = extend,
            After = after,
            EvalWall = evalWallSoFar + evalWall.Elapsed,
            EvalCpu = evalCpuSoFar + (CpuNow() - evalCpu1),
            TotalWall = wall.Elapsed,
            TotalCpu = CpuNow() - cpu0,
        };
    }

    /// <summary>A new model with <paramref name="config"/> (e.g. a raised rope_theta) and a copy of the weights, trainable.</summary>
    public static LlamaForCausalLM WithConfig(LlamaForCausalLM source, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(source);
        var target = ModelLoader.Create(config, source.Device, source.Dtype);
        var from = source.NamedTensors();
        using (no_grad())
        {
            foreach (var (name, t) in target.NamedTensors()) t.copy_(from[name]);
        }
        foreach (var p in target.parameters()) p.requires_grad = true;
        return target;
    }

    private NeedleGridResult Evaluate(LlamaForCausalLM model, NeedleGrid grid, IProgress<QuickstartProgress>? progress, QuickstartPhase phase, CancellationToken ct)
    {
        var total = grid.Lengths.Count * grid.DepthPercents.Count;
        var cells = progress is null ? null : new SyncProgress<int>(n => progress.Report(new QuickstartProgress(phase, n, total)));
        return NeedleEvaluator.Score(grid, NeedleEvaluator.ModelPredictor(model, _backend), cells, ct);
    }

    private static IProgress<QuickstartStepProgress>? Relay(IProgress<QuickstartProgress>? progress, QuickstartPhase phase) =>
        progress is null ? null : new SyncProgress<QuickstartStepProgress>(p => progress.Report(new QuickstartProgress(phase, p.Step, p.MaxSteps, p.Loss, p.Accuracy)));

    private static TimeSpan CpuNow() => Process.GetCurrentProcess().TotalProcessorTime;

    /// <summary>IProgress that reports on the calling thread (System.Progress posts to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
