using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Which tokens of a row of <see cref="GlobalLength"/> tokens one forward holds: the <see cref="Ranges"/> of global
/// token indices, in the order its tensors hold them (zigzag context parallelism gives rank r of N the chunks r and
/// 2N − 1 − r of 2N). Every row of a batch is sharded the same way. With one device the shard is the whole row.
/// </summary>
public sealed record SequenceShard
{
    public SequenceShard(long globalLength, IReadOnlyList<TokenRange> ranges)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(globalLength);
        if (ranges.Count == 0) throw new ArgumentException("a sequence shard holds at least one range of tokens", nameof(ranges));
        foreach (var r in ranges)
            if (r.Start < 0 || r.Length <= 0 || r.End > globalLength)
                throw new ArgumentException($"shard range [{r.Start}, {r.End}) is not inside the row of {globalLength} tokens", nameof(ranges));
        for (int i = 1; i < ranges.Count; i++)
            for (int j = 0; j < i; j++)
                if (ranges[i].Start < ranges[j].End && ranges[j].Start < ranges[i].End)
                    throw new ArgumentException($"shard ranges [{ranges[j].Start}, {ranges[j].End}) and [{ranges[i].Start}, {ranges[i].End}) overlap", nameof(ranges));
        GlobalLength = globalLength;
        Ranges = ranges;
        LocalLength = ranges.Sum(r => r.Length);
    }

    /// <summary>The whole row of <paramref name="length"/> tokens.</summary>
    public static SequenceShard Whole(long length) => new(length, [new TokenRange(0, length)]);

    public long GlobalLength { get; }
    public IReadOnlyList<TokenRange> Ranges { get; }
    /// <summary>Tokens held here (the L of the local q/k/v).</summary>
    public long LocalLength { get; }

    public bool IsWhole => Ranges.Count == 1 && Ranges[0].Start == 0 && Ranges[0].Length == GlobalLength;

    /// <summary>The first tokens of the row: causal queries then need no key from elsewhere.</summary>
    public bool IsPrefix => Ranges.Count == 1 && Ranges[0].Start == 0;

    /// <summary>Global index of each local token, [LocalLength] int64.</summary>
    public Tensor GlobalIndices(Device device)
    {
        using var scope = NewDisposeScope();
        return cat(Ranges.Select(r => arange(r.Start, r.End, dtype: ScalarType.Int64, device: device)).ToArray()).MoveToOuterDisposeScope();
    }

    /// <summary>Takes this shard's tokens out of a whole row (host side): the ranges, concatenated.</summary>
    public T[] Take<T>(ReadOnlySpan<T> row)
    {
        if (row.Length != GlobalLength) throw new ArgumentException($"row has {row.Length} tokens, the shard is of a row of {GlobalLength}", nameof(row));
        var local = new T[LocalLength];
        long at = 0;
        foreach (var r in Ranges)
        {
            row.Slice((int)r.Start, (int)r.Length).CopyTo(local.AsSpan((int)at));
            at += r.Length;
        }
        return local;
    }
}
