using LongContext.Formats.Config;

namespace LongContext.Training.Recipes;

/// <summary>Settings of `longctx pretrain`: a randomly initialised model trained on a corpus, exported as an HF folder.</summary>
public sealed record PretrainOptions
{
    public required ModelConfig Config { get; init; }
    /// <summary>Folder with tokenizer.json; its tokenizer files are copied into the export.</summary>
    public required string TokenizerDir { get; init; }
    /// <summary>Folder of text files or a .jsonl file.</summary>
    public required string DataPath { get; init; }
    /// <summary>Size limit of the files read from a data folder (null: 8 MiB for text, none for JSONL); larger files are skipped and listed.</summary>
    public long? MaxFileBytes { get; init; }
    public required int SequenceLength { get; init; }
    /// <summary>Run folder: token-cache/, train/ (checkpoints, metrics), final/ (the HF export).</summary>
    public required string OutDir { get; init; }
    public int Steps { get; init; } = 1000;
    public double LearningRate { get; init; } = 3e-4;
    public int BatchSize { get; init; } = 1;
    public int GradientAccumulation { get; init; } = 1;
    public int WarmupSteps { get; init; }
    public int SaveEvery { get; init; } = 500;
    public long Seed { get; init; }
    /// <summary>
    /// Packed-document masking (`--document-mask`): no attention across document boundaries, positions restarting per
    /// document and no loss on a document's first token, as Llama-3 and ProLong train on packed rows.
    /// </summary>
    public bool DocumentMask { get; init; }
    /// <summary>What a resume does with a damaged newest checkpoint (`--damaged-checkpoint`).</summary>
    public Checkpoints.DamagedCheckpointPolicy DamagedCheckpoint { get; init; }

    public PretrainOptions Validate()
    {
        if (SequenceLength < 2) throw new ConfigException($"--seq-len {SequenceLength}: must be at least 2.");
        if (BatchSize < 1) throw new ConfigException($"--batch {BatchSize}: must be at least 1.");
        if (Steps < 1) throw new ConfigException($"--steps {Steps}: must be at least 1.");
        if (SequenceLength > Config.MaxPositionEmbeddings)
            throw new ConfigException($"--seq-len {SequenceLength} is longer than the config's max_position_embeddings {Config.MaxPositionEmbeddings}; raise max_position_embeddings in the config or train shorter.");
        return this;
    }
}
