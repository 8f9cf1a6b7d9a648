using LongContext.Core.Attention;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// One kernel call of context-parallel attention: rows [QueryStart, +QueryLength) of the local queries against rows
/// [KeyStart, +KeyLength) of the K/V buffer at hand, for batch rows [BatchStart, +BatchCount). A causal block is a
/// square on the diagonal (query i sees keys ≤ i); any other block is fully visible.
/// </summary>
public readonly record struct AttentionBlock(long BatchStart, long BatchCount, long QueryStart, long QueryLength,
    long KeyStart, long KeyLength, bool Causal);

/// <summary>
/// Which blocks each rank computes, for the ring (per step, against the K/V of one source rank) and for the
/// all-gather variant (against the whole sequence's K/V in position order). Without documents the ring's steps are
/// one kernel call each (ring-flash-attention's zigzag schedule, long-context-recipes.md §4.1):
/// <list type="bullet">
/// <item>its own K/V (step 0): causal on the local 2c tokens (both chunks, in position order);</item>
/// <item>K/V of an earlier rank j &lt; r: every local query sees j's first chunk (j's second chunk lies after both of ours);</item>
/// <item>K/V of a later rank j &gt; r: only our second chunk sees anything, and it sees both of j's chunks.</item>
/// </list>
/// Every step is 2c² query-key pairs, so the ranks stay balanced. With packed documents each (query chunk, key chunk)
/// pair splits at document boundaries into the sub-blocks where both sides share a document.
/// </summary>
public static class ZigzagBlocks
{
    /// <summary>Blocks rank <paramref name="rank"/> computes against the K/V that rank <paramref name="source"/> holds.</summary>
    public static IReadOnlyList<AttentionBlock> RingStep(ZigzagLayout layout, int rank, int source, long batch, bool causal,
        DocumentSegments? documents = null)
    {
        long c = layout.ChunkLength;
        if (!causal)
        {
            if (documents is not null) throw DocumentsNeedCausal();
            return [new AttentionBlock(0, batch, 0, 2 * c, 0, 2 * c, false)];
        }
        if (IsPlainCausal(documents))
        {
            if (source == rank) return [new AttentionBlock(0, batch, 0, 2 * c, 0, 2 * c, true)];
            if (source < rank) return [new AttentionBlock(0, batch, 0, 2 * c, 0, c, false)];
            return [new AttentionBlock(0, batch, c, c, 0, 2 * c, false)];
        }
        var (a, b) = layout.ChunksOf(rank);
        var (ja, jb) = layout.ChunksOf(source);
        // (query chunk, its local offset, key chunk, its offset in the source's buffer); key chunk ≤ query chunk.
        (int q, long qo, int k, long ko)[] pairs = source == rank ? [(a, 0, a, 0), (b, c, a, 0), (b, c, b, c)]
            : source < rank ? [(a, 0, ja, 0), (b, c, ja, 0)]
            : [(b, c, ja, 0), (b, c, jb, c)];
        return PerRow(layout, documents, batch, (b0, bn, segments) =>
            pairs.SelectMany(p => ChunkPair(layout, p.q, p.qo, p.k, p.ko, b0, bn, segments)));
    }

    /// <summary>
    /// Blocks rank <paramref name="rank"/> computes against the gathered K/V of the whole sequence (keys indexed by
    /// global position): each local chunk sees its prefix fully and itself causally; with documents, only the part of
    /// that prefix in the query's own document.
    /// </summary>
    public static IReadOnlyList<AttentionBlock> AllGather(ZigzagLayout layout, int rank, long batch, bool causal,
        DocumentSegments? documents = null)
    {
        long c = layout.ChunkLength;
        if (!causal)
        {
            if (documents is not null) throw DocumentsNeedCausal();
            return [new AttentionBlock(0, batch, 0, 2 * c, 0, layout.SequenceLength, false)];
        }
        var (a, b) = layout.ChunksOf(rank);
        (int chunk, long offset)[] local = [(a, 0), (b, c)];
        if (IsPlainCausal(documents))
            return [.. local.SelectMany(x => PrefixAndDiagonal(layout.ChunkStart(x.chunk), c, x.offset, 0, 0, batch))];
        return PerRow(layout, documents, batch, (b0, bn, segments) => local.SelectMany(x =>
        {
            long qa = layout.ChunkStart(x.chunk);
            return segments.SelectMany(d =>
            {
                long qx = Math.Max(qa, d.Start), qy = Math.Min(qa + c, d.End);
                return qx < qy ? PrefixAndDiagonal(qx, qy - qx, x.offset + qx - qa, d.Start, b0, bn) : [];
            });
        }));
    }

    // Queries at global [start, start+length) (local offset `offset`) over keys [keyStart, start) fully and
    // [start, start+length) causally.
    static IEnumerable<AttentionBlock> PrefixAndDiagonal(long start, long length, long offset, long keyStart, long b0, long bn)
    {
        if (start > keyStart) yield return new AttentionBlock(b0, bn, offset, length, keyStart, start - keyStart, false);
        yield return new AttentionBlock(b0, bn, offset, length, start, length, true);
    }

    static IEnumerable<AttentionBlock> ChunkPair(ZigzagLayout layout, int qChunk, long qOffset, int kChunk, long kOffset,
        long b0, long bn, IReadOnlyList<TokenRange> segments)
    {
        long c = layout.ChunkLength, qa = layout.ChunkStart(qChunk), ka = layout.ChunkStart(kChunk);
        foreach (var d in segments)
        {
            long ds = d.Start, de = d.End;
            long qx = Math.Max(qa, ds), qy = Math.Min(qa + c, de);
            long kx = Math.Max(ka, ds), ky = Math.Min(ka + c, de);
            if (qx >= qy || kx >= ky) continue;
            yield return new AttentionBlock(b0, bn, qOffset + qx - qa, qy - qx, kOffset + kx - ka, ky - kx, qChunk == kChunk);
        }
    }

    // One plan for the whole batch when the rows share their boundaries, else one per row.
    static IReadOnlyList<AttentionBlock> PerRow(ZigzagLayout layout, DocumentSegments documents, long batch,
        Func<long, long, IReadOnlyList<TokenRange>, IEnumerable<AttentionBlock>> plan)
    {
        if (documents.SequenceLength != layout.SequenceLength)
            throw new ContextParallelException($"the document segments are for rows of {documents.SequenceLength} tokens but the layout is for {layout.SequenceLength} "
                + "(segments are given in whole-row coordinates, before sharding).");
        if (documents.Rows != batch)
            throw new ContextParallelException($"the document segments describe {documents.Rows} rows but the batch has {batch}.");
        if (documents.SameInEveryRow) return [.. plan(0, batch, documents.Segments(0))];
        return [.. Enumerable.Range(0, (int)batch).SelectMany(row => plan(row, 1, documents.Segments(row)))];
    }

    // No documents, or one per row: plain causal attention (the one-call-per-step schedule).
    static bool IsPlainCausal([System.Diagnostics.CodeAnalysis.NotNullWhen(false)] DocumentSegments? documents) =>
        documents is null || Enumerable.Range(0, documents.Rows).All(row => documents.Starts(row).Count == 1);

    static ContextParallelException DocumentsNeedCausal() =>
        new("document masks are defined for causal attention only (a query sees the earlier keys of its own document).");
}
