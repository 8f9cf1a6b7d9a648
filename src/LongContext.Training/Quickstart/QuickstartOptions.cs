namespace LongContext.Training.Quickstart;

/// <summary>How RoPE's θ is raised for the extension.</summary>
public enum ThetaChoice
{
    /// <summary>Liu et al.'s critical base θ₀^(ln(T/2π)/ln(L₀/2π)) (<see cref="Core.Rope.ScalingLaw.CriticalTheta"/>).</summary>
    ScalingLaw,
    /// <summary>NTK-aware θ₀·s^(d/(d−2)) (<see cref="Core.Rope.ScalingLaw.NtkAwareTheta"/>).</summary>
    Ntk,
}

/// <summary>
/// Every knob of the quickstart recipe. <see cref="Default"/> is the run the README promises (minutes on a 2-core
/// CPU); <see cref="Fast"/> is a much smaller run that exercises the same machinery in seconds (tests).
/// </summary>
public sealed record QuickstartOptions
{
    /// <summary>L₀: the pretraining length.</summary>
    public int PretrainLength { get; init; } = 128;
    /// <summary>The extension trains at L₀ × this factor (at least 8 in the default run).</summary>
    public int ExtensionFactor { get; init; } = 8;

    public int HiddenSize { get; init; } = 128;
    public int IntermediateSize { get; init; } = 384;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KeyValueHeads { get; init; } = 2;
    public double RopeTheta { get; init; } = 10000;

    public int KeyCount { get; init; } = 24;
    public int ValueCount { get; init; } = 8;
    /// <summary>Chance that a position of a training row is a query (<see cref="RecallCorpus"/>).</summary>
    public double QueryRate { get; init; } = 0.4;

    public int PretrainMaxSteps { get; init; } = 400;
    public int PretrainBatch { get; init; } = 32;
    public double PretrainLearningRate { get; init; } = 1e-3;
    public int PretrainWarmup { get; init; } = 30;
    /// <summary>Pretraining stops once the smoothed loss is below this; null (default) = always <see cref="PretrainMaxSteps"/>.</summary>
    public double? PretrainStopLoss { get; init; }

    public ThetaChoice Theta { get; init; } = ThetaChoice.ScalingLaw;
    public int ExtendSteps { get; init; } = 200;
    public int ExtendBatch { get; init; } = 4;
    public double ExtendLearningRate { get; init; } = 1e-3;
    public int ExtendWarmup { get; init; } = 20;

    /// <summary>Evaluation lengths as multiples of L₀ (L₀/2 … 8·L₀ by default).</summary>
    public IReadOnlyList<double> EvalLengthMultiples { get; init; } = [0.5, 1, 2, 4, 8];
    public int EvalDepths { get; init; } = 5;
    public int EvalSamplesPerCell { get; init; } = 20;

    public int Seed { get; init; } = 1234;
    /// <summary>Seed of the evaluation prompts: a stream of its own, never used for training rows.</summary>
    public int EvalSeed { get; init; } = 987654;
    /// <summary>torch.set_num_threads; 0 = the machine's processor count.</summary>
    public int Threads { get; init; }

    public int ExtendedLength => PretrainLength * ExtensionFactor;

    public IReadOnlyList<int> EvalLengths => EvalLengthMultiples.Select(m => (int)Math.Round(m * PretrainLength)).Distinct().Order().ToArray();

    public IReadOnlyList<double> DepthPercents =>
        EvalDepths == 1 ? [50.0] : Enumerable.Range(0, EvalDepths).Select(i => Math.Round(100.0 * i / (EvalDepths - 1), 1)).ToArray();

    public static QuickstartOptions Default { get; } = new();

    /// <summary>Seconds instead of minutes; checks the machinery, not the accuracy.</summary>
    public static QuickstartOptions Fast { get; } = new()
    {
        PretrainLength = 32,
        ExtensionFactor = 4,
        HiddenSize = 32,
        IntermediateSize = 64,
        KeyCount = 8,
        ValueCount = 4,
        PretrainMaxSteps = 40,
        PretrainBatch = 8,
        PretrainWarmup = 5,
        ExtendSteps = 10,
        ExtendBatch = 2,
        ExtendWarmup = 2,
        EvalLengthMultiples = [1, 2, 4],
        EvalDepths = 3,
        EvalSamplesPerCell = 4,
    };

    /// <summary>Throws ArgumentException naming the first inconsistent field.</summary>
    public void Validate()
    {
        if (PretrainLength < 16) throw new ArgumentException($"PretrainLength {PretrainLength}: use at least 16 tokens.");
        if (ExtensionFactor < 2) throw new ArgumentException($"ExtensionFactor {ExtensionFactor}: the extension must at least double the length.");
        if (HiddenSize % Heads != 0 || Heads % KeyValueHeads != 0) throw new ArgumentException($"HiddenSize {HiddenSize}, Heads {Heads}, KeyValueHeads {KeyValueHeads}: heads must divide the hidden size and KV heads the heads.");
        if ((HiddenSize / Heads) % 2 != 0) throw new ArgumentException($"head dim {HiddenSize / Heads} must be even for RoPE.");
        if (PretrainMaxSteps < 1 || ExtendSteps < 1 || PretrainBatch < 1 || ExtendBatch < 1) throw new ArgumentException("steps and batch sizes must be positive.");
        if (EvalLengthMultiples.Count == 0 || EvalDepths < 1 || EvalSamplesPerCell < 1) throw new ArgumentException("the evaluation grid needs lengths, depths and samples.");
        if (EvalLengths.Any(l => l < 8)) throw new ArgumentException("every evaluation length must be at least 8 tokens.");
    }
}
