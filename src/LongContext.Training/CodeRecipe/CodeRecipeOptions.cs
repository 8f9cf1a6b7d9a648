using LongContext;

namespace LongContext.Training.CodeRecipe;

/// <summary>
/// The 64× recipe on a code corpus (`longctx quickstart --device cuda`): own BPE tokenizer, a small Llama pretrained
/// at <see cref="BaseLength"/> with passkey episodes mixed into <see cref="PasskeyFraction"/> of its rows, then
/// progressive extension to each of <see cref="Stages"/> on whole packages (natural long documents only), all inside
/// <see cref="TimeBudgetSeconds"/>. <see cref="Gpu"/> is the H100/H200 run, <see cref="Cpu"/> the prototype scale
/// (16×, minutes on a CPU), <see cref="Tiny"/> the machinery check used by tests.
/// </summary>
public sealed record CodeRecipeOptions
{
    public required string DataDir { get; init; }
    public required string OutDir { get; init; }
    /// <summary>A folder with tokenizer.json to use instead of training one.</summary>
    public string? TokenizerDir { get; init; }
    public string Device { get; init; } = "auto";
    public IReadOnlyList<string> Include { get; init; } = ["**/*.py"];

    public int BaseLength { get; init; } = 1024;
    public IReadOnlyList<int> Stages { get; init; } = [4096, 16384, 65536];

    public int VocabSize { get; init; } = 8192;
    public int HiddenSize { get; init; } = 512;
    public int IntermediateSize { get; init; } = 1536;
    public int Layers { get; init; } = 6;
    public int Heads { get; init; } = 8;
    public int KeyValueHeads { get; init; } = 4;
    public double RopeTheta { get; init; } = 10_000;

    /// <summary>Share of pretraining rows that are passkey episodes (the retrieval skill taught at the base length).</summary>
    public double PasskeyFraction { get; init; } = 0.2;
    public int PretrainRows { get; init; } = 96;
    public double PretrainLearningRate { get; init; } = 1e-3;
    public int PretrainWarmup { get; init; } = 60;
    /// <summary>Tokens per optimizer step in every extension stage (rows = this / stage length, at least 1).</summary>
    public int ExtensionTokensPerStep { get; init; } = 131_072;
    public double ExtensionLearningRate { get; init; } = 3e-4;
    public int ExtensionWarmup { get; init; } = 10;

    /// <summary>The whole command's wall-clock budget; training phases get fixed shares, evaluation grids shrink to fit the rest.</summary>
    public double TimeBudgetSeconds { get; init; } = 540;
    /// <summary>Share of the budget for pretraining, then for each stage (the rest: tokenizer, data, evaluation, report).</summary>
    public double PretrainShare { get; init; } = 0.26;
    public IReadOnlyList<double> StageShares { get; init; } = [0.06, 0.09, 0.17];

    /// <summary>Characters of source read (spread over the folder); the tokenizer trains on at most <see cref="TokenizerCharacters"/> of them.</summary>
    public long MaxCorpusCharacters { get; init; } = 256L << 20;
    public long TokenizerCharacters { get; init; } = 32L << 20;
    public int HeldOutPackages { get; init; } = 6;

    /// <summary>Passkey evaluation lengths (default L₀/2 … the last stage, doubling), depths and prompts per cell.</summary>
    public IReadOnlyList<int>? PasskeyLengths { get; init; }
    public int PasskeyDepths { get; init; } = 5;
    public int PasskeySamples { get; init; } = 4;
    public int PerplexityDocuments { get; init; } = 4;
    /// <summary>RULER tasks that need no downloaded data (generated word pool, noise/needle haystacks).</summary>
    public IReadOnlyList<string> RulerTasks { get; init; } = ["niah_single_1", "niah_multikey_2", "niah_multikey_3", "vt", "cwe", "fwe"];
    public int RulerSamples { get; init; } = 3;

    /// <summary>Peak bf16 FLOP/s for MFU (H100/H200 SXM dense: 989e12); ignored on the CPU.</summary>
    public double PeakFlops { get; init; } = 989e12;
    public int Seed { get; init; } = 1234;

    public int FinalLength => Stages[^1];
    public int Factor => FinalLength / BaseLength;

    /// <summary>The passkey prompt alone needs ~70 tokens: the grid starts at max(L₀/2, 128).</summary>
    public IReadOnlyList<int> PasskeyGrid => PasskeyLengths ?? Doubling(Math.Max(BaseLength / 2, 128), FinalLength);

    /// <summary>RULER at L₀ and every stage length from 512 tokens on (its templates plus answer budgets need that much).</summary>
    public IReadOnlyList<int> RulerLengths => new[] { BaseLength }.Concat(Stages).Where(l => l >= 512).Distinct().Order().ToArray();

    static int[] Doubling(int from, int to)
    {
        var list = new List<int>();
        for (long l = from; l <= to; l *= 2) list.Add((int)l);
        if (list[^1] != to) list.Add(to);
        return list.ToArray();
    }

    /// <summary>One H100/H200 in ten minutes: 1K → 4K → 16K → 64K.</summary>
    public static CodeRecipeOptions Gpu(string dataDir, string outDir) => new() { DataDir = dataDir, OutDir = outDir, Device = "cuda" };

    /// <summary>The prototype scale on a CPU: 128 → 512 → 2K (16×), a 4-layer d=128 model, a 2K tokenizer.</summary>
    public static CodeRecipeOptions Cpu(string dataDir, string outDir) => new()
    {
        DataDir = dataDir, OutDir = outDir, Device = "cpu",
        BaseLength = 128, Stages = [512, 2048], VocabSize = 2048, HiddenSize = 128, IntermediateSize = 384, Layers = 4, Heads = 4, KeyValueHeads = 2,
        PretrainRows = 32, PretrainWarmup = 30, ExtensionTokensPerStep = 8192, TimeBudgetSeconds = 900, PretrainShare = 0.4, StageShares = [0.12, 0.2],
        MaxCorpusCharacters = 24L << 20, TokenizerCharacters = 8L << 20, PasskeySamples = 3, PerplexityDocuments = 3, RulerSamples = 2, HeldOutPackages = 4,
    };

    /// <summary>Seconds on a CPU: checks the machinery (tests), not the accuracy.</summary>
    public static CodeRecipeOptions Tiny(string dataDir, string outDir) => new()
    {
        DataDir = dataDir, OutDir = outDir, Device = "cpu",
        BaseLength = 128, Stages = [256, 512], PasskeyLengths = [256, 512], VocabSize = 320, HiddenSize = 32, IntermediateSize = 64, Layers = 2, Heads = 2, KeyValueHeads = 1,
        PretrainRows = 4, PretrainWarmup = 2, ExtensionTokensPerStep = 256, ExtensionWarmup = 1, TimeBudgetSeconds = 120, PretrainShare = 0.05, StageShares = [0.02, 0.02],
        MaxCorpusCharacters = 1L << 20, TokenizerCharacters = 1L << 20, PasskeyDepths = 2, PasskeySamples = 1, PerplexityDocuments = 1,
        RulerTasks = ["niah_single_1", "vt"], RulerSamples = 1, HeldOutPackages = 1,
    };

    public CodeRecipeOptions Validate()
    {
        if (!Directory.Exists(DataDir)) throw new ConfigException($"--data {DataDir}: folder not found (give a folder of source files, e.g. python3 -c \"import site;print(site.getsitepackages()[0])\").");
        if (TokenizerDir is not null && !File.Exists(Path.Combine(TokenizerDir, "tokenizer.json"))) throw new ConfigException($"--tokenizer {TokenizerDir}: no tokenizer.json there.");
        if (BaseLength < 16 || Stages.Count == 0) throw new ConfigException("the recipe needs a base length of at least 16 tokens and at least one stage.");
        for (int i = 0; i < Stages.Count; i++)
            if (Stages[i] <= (i == 0 ? BaseLength : Stages[i - 1])) throw new ConfigException($"stage lengths must increase from the base length {BaseLength}: {string.Join(", ", Stages)}.");
        if (StageShares.Count != Stages.Count) throw new ConfigException($"{Stages.Count} stages but {StageShares.Count} budget shares.");
        if (PretrainShare + StageShares.Sum() >= 0.95) throw new ConfigException("the training shares leave no time for data, evaluation and the report.");
        if (TimeBudgetSeconds < 10) throw new ConfigException($"--time-budget {TimeBudgetSeconds} s is too short.");
        if (PasskeyFraction is < 0 or >= 1) throw new ConfigException($"passkey fraction {PasskeyFraction} must be in [0, 1).");
        if (HiddenSize % Heads != 0 || Heads % KeyValueHeads != 0) throw new ConfigException("heads must divide the hidden size, and KV heads the heads.");
        return this;
    }
}
