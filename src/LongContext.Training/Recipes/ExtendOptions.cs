using LongContext.Training.Plan;

namespace LongContext.Training.Recipes;

/// <summary>Settings of `longctx extend`: progressive context extension of an HF model over stage lengths.</summary>
public sealed record ExtendOptions
{
    /// <summary>Starting HF folder (config.json, weights, tokenizer files).</summary>
    public required string ModelDir { get; init; }
    public required string DataPath { get; init; }
    /// <summary>Size limit of the files read from a data folder (null: 8 MiB for text, none for JSONL); larger files are skipped and listed.</summary>
    public long? MaxFileBytes { get; init; }
    /// <summary>Stage lengths in tokens, increasing (e.g. 64K, 256K, 1M).</summary>
    public required IReadOnlyList<long> Stages { get; init; }
    /// <summary>Run folder: token-cache/ and stage-&lt;len&gt;/{train, final, niah}/ per stage.</summary>
    public required string OutDir { get; init; }
    /// <summary>θ per stage, computed from the starting model's rope_theta and trained length.</summary>
    public ThetaRule Theta { get; init; } = ThetaRule.Default;
    /// <summary>Optimizer steps per stage; when null, derived from <see cref="TokensPerStage"/>, else 100.</summary>
    public int? StepsPerStage { get; init; }
    /// <summary>Tokens per stage (steps = ⌈tokens / (length · batch · accumulation)⌉).</summary>
    public long? TokensPerStage { get; init; }
    public double LearningRate { get; init; } = 2e-5;
    public int BatchSize { get; init; } = 1;
    public int GradientAccumulation { get; init; } = 1;
    public int WarmupSteps { get; init; }
    public int SaveEvery { get; init; } = 100;
    public long Seed { get; init; }
    /// <summary>
    /// Packed-document masking (`--document-mask`): no attention across document boundaries, positions restarting per
    /// document and no loss on a document's first token, as Llama-3 and ProLong train on packed rows.
    /// </summary>
    public bool DocumentMask { get; init; }
    /// <summary>What a resume does with a damaged newest checkpoint (`--damaged-checkpoint`).</summary>
    public Checkpoints.DamagedCheckpointPolicy DamagedCheckpoint { get; init; }
    /// <summary>Needle depths of the quick NIAH after each stage; 0 skips it.</summary>
    public int NiahDepths { get; init; } = 5;

    /// <summary>Train LoRA adapters of this rank (alpha = 2·rank, attention projections) instead of all weights; null trains all.</summary>
    public int? LoraRank { get; init; }

    /// <summary>With LoRA: the projections that get adapters (default q/k/v/o_proj; add gate/up/down_proj for the MLP).</summary>
    public IReadOnlyList<string>? LoraTargets { get; init; }

    /// <summary>With LoRA: base parameters that stay trainable, as LongLoRA trains embeddings and norms ("embed", "norm", "lm_head").</summary>
    public IReadOnlyList<string> LoraTrainable { get; init; } = [];

    /// <summary>The adapter settings for <see cref="LoraRank"/>.</summary>
    public Lora.LoraOptions? LoraOptions()
    {
        if (LoraRank is not int rank) return null;
        var options = new Lora.LoraOptions { Rank = rank, Alpha = 2.0 * rank, TargetModules = LoraTargets ?? Lora.LoraOptions.AttentionModules, Trainable = LoraTrainable };
        options.Validate();
        return options;
    }

    public const int DefaultStepsPerStage = 100;

    public ExtendOptions Validate()
    {
        if (Stages.Count == 0) throw new ConfigException("--stages: give at least one stage length, e.g. 64K,256K,1M.");
        for (int i = 0; i < Stages.Count; i++)
        {
            if (Stages[i] < 2 || Stages[i] > int.MaxValue) throw new ConfigException($"--stages: {Stages[i]} is not a trainable sequence length.");
            if (i > 0 && Stages[i] <= Stages[i - 1]) throw new ConfigException($"--stages: lengths must increase ({Stages[i - 1]} then {Stages[i]}).");
        }
        if (StepsPerStage is < 1) throw new ConfigException($"--steps-per-stage {StepsPerStage}: must be at least 1.");
        if (TokensPerStage is < 1) throw new ConfigException($"--tokens-per-stage {TokensPerStage}: must be positive.");
        if (StepsPerStage is not null && TokensPerStage is not null) throw new ConfigException("give --steps-per-stage or --tokens-per-stage, not both.");
        if (BatchSize < 1) throw new ConfigException($"--batch {BatchSize}: must be at least 1.");
        if (LoraRank is < 1) throw new ConfigException($"--lora-rank {LoraRank}: must be at least 1 (leave it out to train all weights).");
        if (LoraRank is null && (LoraTargets is not null || LoraTrainable.Count > 0)) throw new ConfigException("--lora-targets/--lora-trainable need --lora-rank.");
        LoraOptions();
        if (NiahDepths < 0) throw new ConfigException($"--niah-depths {NiahDepths}: must be ≥ 0 (0 skips the NIAH check).");
        return this;
    }

    /// <summary>Optimizer steps of a stage of <paramref name="length"/> tokens.</summary>
    public int StepsFor(long length) => StepsPerStage
        ?? (TokensPerStage is long tokens
            ? (int)Math.Max(1, (tokens + length * BatchSize * GradientAccumulation - 1) / (length * BatchSize * GradientAccumulation))
            : DefaultStepsPerStage);
}
