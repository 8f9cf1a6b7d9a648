namespace LongContext.Training.Data;

/// <summary>
/// One micro-batch of packed sequences, row-major [BatchSize, SequenceLength] on the host. <see cref="Labels"/> are
/// already shifted: Labels[i] is the token position i must predict, or <see cref="IgnoreIndex"/> where nothing is
/// predicted (padding, and the last token of a row). <see cref="PositionIds"/> restart at 0 for each document when
/// the packer was asked to; otherwise they run 0 … L−1 in every row.
/// </summary>
public sealed record TrainingBatch(long[] InputIds, long[] Labels, long[] PositionIds, int BatchSize, int SequenceLength)
{
    /// <summary>The label that takes no part in the loss (PyTorch's cross-entropy default).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// Per row, the offsets where a document segment begins, ascending, always starting with 0 (a document cut
    /// at a row boundary continues as a new segment in its next row). For document masks (attention limited to
    /// the segment). Null when the source does not track documents.
    /// </summary>
    public IReadOnlyList<int[]>? DocumentStarts { get; init; }

    /// <summary>Tokens whose prediction counts in the loss.</summary>
    public long PredictedTokens => Labels.LongCount(l => l != IgnoreIndex);
}
