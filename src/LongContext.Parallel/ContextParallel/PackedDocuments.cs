using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Where packed documents begin in each row of the global sequence (host side, the same on every rank): a query sees
/// only the keys of its own document, causally. Row b's documents are [Starts[b][i], Starts[b][i+1]) and the last
/// runs to <see cref="Length"/>; Starts[b][0] is 0 (the form of <c>TrainingBatch.DocumentStarts</c>).
/// </summary>
public sealed class PackedDocuments
{
    public IReadOnlyList<int[]> Starts { get; }
    public long Length { get; }
    public int Rows => Starts.Count;

    public PackedDocuments(IReadOnlyList<int[]> starts, long length)
    {
        if (starts.Count == 0) throw new ContextParallelException("document starts: no rows given.");
        for (int row = 0; row < starts.Count; row++)
        {
            var s = starts[row];
            if (s.Length == 0 || s[0] != 0)
                throw new ContextParallelException($"document starts of row {row} must begin with 0 (the first document starts the row).");
            for (int i = 1; i < s.Length; i++)
                if (s[i] <= s[i - 1] || s[i] >= length)
                    throw new ContextParallelException(
                        $"document starts of row {row} must be strictly ascending and below the sequence length {length}; got {s[i - 1]} then {s[i]}.");
        }
        Starts = starts;
        Length = length;
    }

    /// <summary>
    /// From per-token document ids [B, L] (any integer type): a document is a run of equal ids. An id that appears again
    /// after another document is an error, since it would mean one document cut in two.
    /// </summary>
    public static PackedDocuments FromIds(Tensor ids)
    {
        if (ids.dim() != 2) throw new ContextParallelException($"document ids must be [batch, length]; got [{string.Join(", ", ids.shape)}].");
        long rows = ids.shape[0], length = ids.shape[1];
        var flat = ids.to(ScalarType.Int64).cpu().contiguous().data<long>().ToArray();
        var starts = new int[rows][];
        for (int row = 0; row < rows; row++)
        {
            var seen = new HashSet<long>();
            var list = new List<int> { 0 };
            long offset = row * length;
            seen.Add(flat[offset]);
            for (int i = 1; i < length; i++)
            {
                long id = flat[offset + i];
                if (id == flat[offset + i - 1]) continue;
                if (!seen.Add(id))
                    throw new ContextParallelException($"document id {id} appears in two separate runs of row {row} (again at position {i}): documents must be contiguous.");
                list.Add(i);
            }
            starts[row] = [.. list];
        }
        return new PackedDocuments(starts, length);
    }

    /// <summary>The documents of row <paramref name="row"/> as [start, end) ranges.</summary>
    public IEnumerable<(long Start, long End)> Segments(int row)
    {
        var s = Starts[row];
        for (int i = 0; i < s.Length; i++) yield return (s[i], i + 1 < s.Length ? s[i + 1] : Length);
    }

    /// <summary>True when every row holds one document (the mask is plain causal).</summary>
    public bool IsSingleDocument => Starts.All(s => s.Length == 1);

    /// <summary>True when every row has the same boundaries (one plan serves the whole batch).</summary>
    public bool RowsAgree => Starts.All(s => s.AsSpan().SequenceEqual(Starts[0]));
}
