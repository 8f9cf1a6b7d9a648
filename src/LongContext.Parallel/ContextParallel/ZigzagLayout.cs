using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// The zigzag (head-tail) layout of one sequence over a context-parallel group of N ranks: the sequence is cut into
/// 2N chunks of <see cref="ChunkLength"/> tokens and rank r holds chunks r and 2N−1−r, in that order. Under causal
/// attention every rank then does the same work (an early chunk sees few keys, its partner many). Shard the inputs,
/// labels (already shifted, so a label never sits on another rank than its input), positions and anything else
/// per-token with <see cref="Shard"/>; bring per-token results back with <see cref="Unshard"/>.
/// </summary>
public sealed record ZigzagLayout
{
    public int WorldSize { get; }
    /// <summary>Tokens of the whole (global) sequence.</summary>
    public long SequenceLength { get; }
    public long ChunkLength => SequenceLength / (2L * WorldSize);
    /// <summary>Tokens each rank holds: two chunks.</summary>
    public long LocalLength => 2 * ChunkLength;

    public ZigzagLayout(int worldSize, long sequenceLength)
    {
        if (worldSize < 1) throw new ContextParallelException($"context-parallel degree {worldSize}: must be at least 1.");
        if (sequenceLength <= 0 || sequenceLength % (2L * worldSize) != 0)
            throw new ContextParallelException(
                $"sequence length {sequenceLength} is not divisible by 2·cp = {2L * worldSize}: the zigzag layout cuts the sequence "
                + $"into {2L * worldSize} equal chunks. Pad or choose a length that is a multiple of {2L * worldSize} "
                + $"(e.g. {NextMultiple(Math.Max(sequenceLength, 1), 2L * worldSize)}).");
        WorldSize = worldSize;
        SequenceLength = sequenceLength;
    }

    static long NextMultiple(long x, long m) => (x + m - 1) / m * m;

    /// <summary>The two global chunk indices rank <paramref name="rank"/> holds: (r, 2N−1−r).</summary>
    public (int First, int Second) ChunksOf(int rank)
    {
        CheckRank(rank);
        return (rank, 2 * WorldSize - 1 - rank);
    }

    /// <summary>Global position of the first token of chunk <paramref name="chunk"/>.</summary>
    public long ChunkStart(int chunk) => chunk * ChunkLength;

    /// <summary>Rank <paramref name="rank"/>'s tokens as the attention seam describes them (<see cref="AttentionMask.Shard"/>).</summary>
    public SequenceShard ShardOf(int rank)
    {
        var (a, b) = ChunksOf(rank);
        return new SequenceShard(SequenceLength, [new TokenRange(ChunkStart(a), ChunkLength), new TokenRange(ChunkStart(b), ChunkLength)]);
    }

    /// <summary>
    /// The layout a sequence shard comes from, checked: it must be rank <paramref name="rank"/>'s zigzag shard of a
    /// group of <paramref name="worldSize"/> (a batch cut any other way cannot be attended by the ring).
    /// </summary>
    public static ZigzagLayout Of(SequenceShard shard, int worldSize, int rank)
    {
        var layout = new ZigzagLayout(worldSize, shard.GlobalLength);
        if (!shard.Ranges.SequenceEqual(layout.ShardOf(rank).Ranges))
            throw new ContextParallelException(
                $"rank {rank} of cp = {worldSize} holds tokens {string.Join(", ", shard.Ranges.Select(r => $"[{r.Start}, {r.End})"))} of {shard.GlobalLength}, "
                + $"but context-parallel attention needs its zigzag shard {string.Join(", ", layout.ShardOf(rank).Ranges.Select(r => $"[{r.Start}, {r.End})"))}: "
                + "shard the batch with ZigzagLayout.ShardOf(rank).");
        return layout;
    }

    /// <summary>The global position of each of rank <paramref name="rank"/>'s tokens, [LocalLength] (int64).</summary>
    public Tensor Positions(int rank, Device? device = null) => ShardOf(rank).GlobalIndices(device ?? CPU);

    /// <summary>Rank <paramref name="rank"/>'s part of <paramref name="x"/>, whose dimension <paramref name="dim"/> is the sequence.</summary>
    public Tensor Shard(Tensor x, int rank, int dim = 1)
    {
        CheckLength(x, dim);
        var (a, b) = ChunksOf(rank);
        return cat([x.narrow(dim, ChunkStart(a), ChunkLength), x.narrow(dim, ChunkStart(b), ChunkLength)], dim);
    }

    /// <summary>Rank <paramref name="rank"/>'s part of a row-major [rows, SequenceLength] host array (token ids, labels, positions).</summary>
    public T[] Shard<T>(ReadOnlySpan<T> rowMajor, int rows, int rank)
    {
        if (rowMajor.Length != rows * SequenceLength)
            throw new ContextParallelException($"a batch of {rows} rows × {SequenceLength} tokens has {rows * SequenceLength} entries, got {rowMajor.Length}.");
        var shard = ShardOf(rank);
        var local = new T[rows * LocalLength];
        for (int row = 0; row < rows; row++)
            shard.Take(rowMajor.Slice((int)(row * SequenceLength), (int)SequenceLength)).CopyTo(local.AsSpan((int)(row * LocalLength)));
        return local;
    }

    /// <summary>The global tensor from every rank's shard (by rank), the inverse of <see cref="Shard"/>.</summary>
    public Tensor Unshard(IReadOnlyList<Tensor> shards, int dim = 1)
    {
        if (shards.Count != WorldSize) throw new ContextParallelException($"unshard needs {WorldSize} shards (one per rank), got {shards.Count}.");
        var chunks = new Tensor[2 * WorldSize];
        for (int r = 0; r < WorldSize; r++)
        {
            if (shards[r].shape[dim] != LocalLength)
                throw new ContextParallelException($"rank {r}'s shard has {shards[r].shape[dim]} tokens along dim {dim}; the layout gives each rank {LocalLength}.");
            var (a, b) = ChunksOf(r);
            chunks[a] = shards[r].narrow(dim, 0, ChunkLength);
            chunks[b] = shards[r].narrow(dim, ChunkLength, ChunkLength);
        }
        return cat(chunks, dim);
    }

    /// <summary>Checks that attention inputs are one rank's shard of this layout, and returns (B, Hq, Hkv, D).</summary>
    internal (long b, long hq, long hkv, long d) CheckShard(Tensor q, Tensor k, Tensor v, int groupSize, string who)
    {
        if (groupSize != WorldSize)
            throw new ContextParallelException($"the zigzag layout is for cp = {WorldSize} but the {who} group has {groupSize} ranks.");
        static string Fmt(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || k.shape[1] != v.shape[1] || q.shape[0] != k.shape[0] || q.shape[3] != k.shape[3])
            throw new ArgumentException($"{who} attention expects q [B, Hq, L, D] and k/v [B, Hkv, L, D]; got q {Fmt(q)}, k {Fmt(k)}, v {Fmt(v)}");
        if (q.shape[2] != LocalLength || k.shape[2] != LocalLength || v.shape[2] != LocalLength)
            throw new ContextParallelException(
                $"{who} attention got {q.shape[2]} queries and {k.shape[2]} keys, but a rank's shard of a {SequenceLength}-token "
                + $"sequence over cp = {WorldSize} is {LocalLength} tokens: shard the inputs with ZigzagLayout.Shard "
                + "(context-parallel attention serves training and whole-prompt prefill, not decoding with a KV cache).");
        if (q.shape[1] % k.shape[1] != 0) throw new ArgumentException($"query heads {q.shape[1]} are not a multiple of key/value heads {k.shape[1]}");
        return (q.shape[0], q.shape[1], k.shape[1], q.shape[3]);
    }

    void CheckRank(int rank)
    {
        if (rank < 0 || rank >= WorldSize) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside a context-parallel group of {WorldSize}");
    }

    void CheckLength(Tensor x, int dim)
    {
        if (x.shape[dim] != SequenceLength)
            throw new ContextParallelException($"tensor [{string.Join(", ", x.shape)}] has {x.shape[dim]} tokens along dim {dim}; the layout is for {SequenceLength}.");
    }
}
