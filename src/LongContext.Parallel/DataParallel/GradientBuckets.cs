using System.Globalization;
using static TorchSharp.torch;

namespace LongContext.Parallel.DataParallel;

/// <summary>A trainable parameter's place in its bucket: elements [Offset, Offset + Count) of the flat buffer.</summary>
/// <param name="Layer">The decoder layer it belongs to (its gradient is complete once the backward has left that
/// layer), <see cref="GradientBuckets.HeadLayer"/> for the final norm and LM head (complete before any layer), or
/// <see cref="GradientBuckets.EndLayer"/> for the rest (embeddings, tied weights: complete only when backward returns).</param>
public sealed record BucketMember(string Name, Tensor Param, long Offset, long Count, int Layer);

/// <summary>
/// A slice of a bucket that one rank owns (ZeRO): elements [ParamOffset, ParamOffset + Count) of the member's
/// flattened parameter, at [ShardOffset, ShardOffset + Count) of the rank's shard of the bucket.
/// </summary>
public sealed record BucketSegment(BucketMember Member, long ParamOffset, long ShardOffset, long Count);

/// <summary>One flat gradient buffer: members of one dtype, padded so it splits into equal shards (one per rank).</summary>
public sealed class GradientBucket
{
    public required int Index { get; init; }
    public required IReadOnlyList<BucketMember> Members { get; init; }
    public required ScalarType Dtype { get; init; }
    public required Device Device { get; init; }
    /// <summary>Elements of the members together.</summary>
    public required long Elements { get; init; }
    /// <summary>Elements of each rank's shard; the buffer holds ranks × ShardElements (the tail is padding).</summary>
    public required long ShardElements { get; init; }
    public long PaddedElements(int ranks) => ShardElements * ranks;
    /// <summary>The layer whose completion in backward makes every member's gradient complete (the smallest of theirs).</summary>
    public int ReadyAtLayer => Members.Min(m => m.Layer);
    /// <summary>This rank's slices of the members (ZeRO), in member order.</summary>
    public required IReadOnlyList<BucketSegment> Owned { get; init; }
}

/// <summary>
/// The trainable parameters cut into flat buckets, in reverse order (the order the backward completes their
/// gradients: LM head and final norm, then the last decoder layer … the first, then the embeddings), a new bucket when
/// the next parameter would pass the size cap or has another dtype (a parameter larger than the cap gets one alone).
/// Each bucket is padded to a multiple of ranks × 8 elements and split into equal shards, shard r owned by rank r:
/// the ZeRO partition (flat buffers in parameter order, padded), known to every rank without communication.
/// </summary>
public sealed class GradientBuckets
{
    /// <summary>Layer of parameters that are complete before the backward reaches any decoder layer.</summary>
    public const int HeadLayer = int.MaxValue;
    /// <summary>Layer of parameters that are complete only when the backward returns.</summary>
    public const int EndLayer = -1;
    const long Align = 8;

    public IReadOnlyList<GradientBucket> Buckets { get; }
    public IReadOnlyList<BucketMember> Members { get; }
    public int Ranks { get; }
    public int Rank { get; }

    GradientBuckets(IReadOnlyList<GradientBucket> buckets, int ranks, int rank) =>
        (Buckets, Members, Ranks, Rank) = (buckets, [.. buckets.SelectMany(b => b.Members)], ranks, rank);

    public static GradientBuckets Build(IReadOnlyList<KeyValuePair<string, Tensor>> trainable, long bucketBytes, int ranks, int rank)
    {
        if (ranks < 1 || rank < 0 || rank >= ranks) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} of {ranks}");
        var groups = new List<List<(string Name, Tensor Param)>>();
        long bytes = 0;
        foreach (var (name, p) in trainable.Reverse())
        {
            long size = p.numel() * p.ElementSize;
            var current = groups.Count > 0 ? groups[^1] : null;
            if (current is null || current[0].Param.dtype != p.dtype || current[0].Param.device != p.device || (bytes > 0 && bytes + size > bucketBytes))
            {
                groups.Add(current = []);
                bytes = 0;
            }
            current.Add((name, p));
            bytes += size;
        }
        var buckets = new List<GradientBucket>();
        foreach (var group in groups)
        {
            var members = new List<BucketMember>();
            long offset = 0;
            foreach (var (name, p) in group)
            {
                members.Add(new BucketMember(name, p, offset, p.numel(), LayerOf(name)));
                offset += p.numel();
            }
            long unit = ranks * Align;
            long shard = Math.Max(1, (offset + unit - 1) / unit) * Align;
            buckets.Add(new GradientBucket
            {
                Index = buckets.Count, Members = members, Dtype = group[0].Param.dtype, Device = group[0].Param.device,
                Elements = offset, ShardElements = shard, Owned = Segments(members, shard * rank, shard),
            });
        }
        return new GradientBuckets(buckets, ranks, rank);
    }

    static List<BucketSegment> Segments(IReadOnlyList<BucketMember> members, long start, long length)
    {
        var segments = new List<BucketSegment>();
        foreach (var m in members)
        {
            long lo = Math.Max(m.Offset, start), hi = Math.Min(m.Offset + m.Count, start + length);
            if (hi > lo) segments.Add(new BucketSegment(m, lo - m.Offset, lo - start, hi - lo));
        }
        return segments;
    }

    /// <summary>"model.layers.12.mlp.up_proj.weight" → 12 (also LoRA adapters inside a layer); final norm and LM head → head; the rest → end.</summary>
    public static int LayerOf(string name)
    {
        const string prefix = "model.layers.";
        if (name.StartsWith(prefix, StringComparison.Ordinal))
        {
            int dot = name.IndexOf('.', prefix.Length);
            if (dot > prefix.Length && int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
                return layer;
        }
        return name.StartsWith("model.norm.", StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal) ? HeadLayer : EndLayer;
    }

    /// <summary>True when these buckets were built over exactly <paramref name="trainable"/> (same tensors, same order).</summary>
    public bool Covers(IReadOnlyList<KeyValuePair<string, Tensor>> trainable) =>
        trainable.Count == Members.Count && trainable.Reverse().Zip(Members).All(x => x.First.Key == x.Second.Name && x.First.Value.Handle == x.Second.Param.Handle);
}
