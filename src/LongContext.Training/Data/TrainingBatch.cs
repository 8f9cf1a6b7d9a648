using LongContext.Core.Attention;

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
    /// at a row boundary continues as a new segment in its next row), in whole-row coordinates (a sequence shard
    /// keeps the starts of the whole row). For document masks (attention limited to the segment). Null when the
    /// source does not track documents.
    /// </summary>
    public IReadOnlyList<int[]>? DocumentStarts { get; init; }

    /// <summary>
    /// Set when a topology cut the rows to one process's share of the sequence (context parallelism): which tokens of
    /// the whole rows this batch holds. <see cref="SequenceLength"/> is then the local length. Null: whole rows.
    /// </summary>
    public SequenceShard? Shard { get; init; }

    /// <summary>
    /// 1 + the largest position id of the whole batch before any sharding: the length dynamic and longrope RoPE
    /// scale for, as transformers computes it, so every shard of a sequence is rotated alike. Copied, not
    /// recomputed, when a shard is made with <c>with</c>.
    /// </summary>
    public int RopeSequenceLength { get; init; } = PositionIds.Length == 0 ? 0 : checked((int)PositionIds.Max() + 1);

    /// <summary>Tokens per row before sharding.</summary>
    public int GlobalSequenceLength => Shard is { } s ? checked((int)s.GlobalLength) : SequenceLength;

    /// <summary>Tokens whose prediction counts in the loss.</summary>
    public long PredictedTokens => Labels.LongCount(l => l != IgnoreIndex);
}
