namespace LongContext.Training.Data;

/// <summary>
/// How a token corpus is packed into training sequences (docs/training-data.md). Packing is fixed by the corpus
/// and these options; only the order of sequences changes per epoch (seeded by Seed and the epoch).
/// </summary>
public sealed record PackingOptions
{
    /// <summary>Tokens per row (the stage's context length).</summary>
    public required int SequenceLength { get; init; }
    /// <summary>Rows per micro-batch. Default 1.</summary>
    public int BatchSize { get; init; } = 1;
    /// <summary>Seed of the per-epoch sequence shuffle.</summary>
    public long Seed { get; init; }
    /// <summary>Shuffle sequence order each epoch (else corpus order). Default true.</summary>
    public bool Shuffle { get; init; } = true;
    /// <summary>Position ids restart at 0 at each document segment (else 0 … L−1 per row). Default false.</summary>
    public bool ResetPositionIds { get; init; }
    /// <summary>No loss on predicting a document's first token from the previous document (label −100 at the
    /// last position before each document start within a row). Default false.</summary>
    public bool MaskDocumentBoundaries { get; init; }
    /// <summary>Documents of at least this many tokens are upsampled (0 = off).</summary>
    public int UpsampleMinTokens { get; init; }
    /// <summary>How many times each upsampled document appears per epoch (≥ 1; 1 = off).</summary>
    public int UpsampleFactor { get; init; } = 1;
    /// <summary>Use only the first MaxTokens tokens of the corpus (cache order; the last document is cut), before
    /// upsampling. Null = all.</summary>
    public long? MaxTokens { get; init; }

    internal void Validate()
    {
        if (SequenceLength < 2) throw new DataException($"sequence length {SequenceLength}: must be at least 2");
        if (BatchSize < 1) throw new DataException($"batch size {BatchSize}: must be at least 1");
        if (UpsampleFactor < 1) throw new DataException($"upsample factor {UpsampleFactor}: must be at least 1 (1 = no upsampling)");
        if (UpsampleMinTokens < 0) throw new DataException($"upsample threshold {UpsampleMinTokens}: must be ≥ 0");
        if (MaxTokens is <= 0) throw new DataException($"max tokens {MaxTokens}: must be positive");
    }
}
