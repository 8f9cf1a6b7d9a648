using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// The documents packed into each row of a batch: per row, the offsets where a document segment begins (ascending,
/// the first 0) in a row of <see cref="SequenceLength"/> tokens — the whole row, before any sequence sharding.
/// Under a document mask attention is block-diagonal causal: token i sees token j iff j ≤ i and both lie in the
/// same segment (Llama-3's and ProLong's packed training).
/// </summary>
public sealed class DocumentSegments
{
    readonly int[][] starts;

    public DocumentSegments(IReadOnlyList<int[]> starts, int sequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        if (starts.Count == 0) throw new ArgumentException("document segments need at least one row", nameof(starts));
        for (int row = 0; row < starts.Count; row++)
        {
            var s = starts[row];
            if (s.Length == 0 || s[0] != 0)
                throw new ArgumentException($"row {row}: document starts must begin with 0 (got [{string.Join(", ", s)}])", nameof(starts));
            for (int i = 1; i < s.Length; i++)
                if (s[i] <= s[i - 1] || s[i] >= sequenceLength)
                    throw new ArgumentException($"row {row}: document starts must increase and stay below {sequenceLength} (got [{string.Join(", ", s)}])", nameof(starts));
        }
        this.starts = starts.Select(s => (int[])s.Clone()).ToArray();
        SequenceLength = sequenceLength;
        SameInEveryRow = this.starts.All(s => s.AsSpan().SequenceEqual(this.starts[0]));
    }

    /// <summary>Rows of <paramref name="sequenceLength"/> tokens that each hold one document.</summary>
    public static DocumentSegments SingleDocument(int rows, int sequenceLength) =>
        new(Enumerable.Range(0, rows).Select(_ => new[] { 0 }).ToArray(), sequenceLength);

    public int Rows => starts.Length;
    public int SequenceLength { get; }
    /// <summary>Every row has the same segments (then rows can share one kernel call per segment).</summary>
    public bool SameInEveryRow { get; }

    public IReadOnlyList<int> Starts(int row) => starts[row];

    /// <summary>The segments of <paramref name="row"/> as ranges of token indices.</summary>
    public IReadOnlyList<TokenRange> Segments(int row)
    {
        var s = starts[row];
        var result = new TokenRange[s.Length];
        for (int i = 0; i < s.Length; i++)
            result[i] = new TokenRange(s[i], (i + 1 < s.Length ? s[i + 1] : SequenceLength) - s[i]);
        return result;
    }

    /// <summary>The segments of tokens [<paramref name="start"/>, start + length) of every row, re-based to 0 there.</summary>
    public DocumentSegments Slice(long start, long length)
    {
        if (start < 0 || length <= 0 || start + length > SequenceLength)
            throw new ArgumentOutOfRangeException(nameof(length), $"[{start}, {start + length}) is not inside a row of {SequenceLength} tokens");
        var sliced = new int[Rows][];
        for (int row = 0; row < Rows; row++)
        {
            var inside = new List<int> { 0 };
            foreach (int s in starts[row])
                if (s > start && s < start + length) inside.Add((int)(s - start));
            sliced[row] = inside.ToArray();
        }
        return new DocumentSegments(sliced, checked((int)length));
    }

    /// <summary>Index of each token's document within its row, [Rows, SequenceLength] int64 (for masks built on the device).</summary>
    public Tensor DocumentIds(Device device)
    {
        var ids = new long[(long)Rows * SequenceLength];
        for (int row = 0; row < Rows; row++)
        {
            int doc = -1;
            var s = starts[row];
            for (int i = 0, next = 0; i < SequenceLength; i++)
            {
                if (next < s.Length && s[next] == i) { doc++; next++; }
                ids[(long)row * SequenceLength + i] = doc;
            }
        }
        return tensor(ids, [Rows, SequenceLength]).to(device);
    }
}
