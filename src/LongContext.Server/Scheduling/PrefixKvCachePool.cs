using LongContext.Core.Inference;
using LongContext.Formats.Config;
using static TorchSharp.torch;

namespace LongContext.Server.Scheduling;

/// <summary>
/// Up to N KV caches kept between requests, each with the token ids whose keys/values it holds. A request takes the
/// entry sharing the longest token prefix with its prompt, truncates it there and prefills only the rest; with no
/// useful entry it takes a free slot or the least recently used one. Used by the engine thread only.
/// </summary>
internal sealed class PrefixKvCachePool(ModelConfig config, ScalarType dtype, Device device, int maxEntries, int maxContext,
    KvCacheStorage storage = KvCacheStorage.ModelDtype) : IDisposable
{
    internal sealed class Entry(KvCache cache)
    {
        public KvCache Cache { get; set; } = cache;
        public int[] Tokens { get; set; } = [];
        /// <summary>The longest sequence any forward into this cache covered (length-dependent RoPE check).</summary>
        public int PeakLength { get; set; }
        public long LastUse { get; set; }
    }

    /// <summary>A cache lent to one request: the first <see cref="Reused"/> prompt tokens are already in it.</summary>
    internal sealed record Lease(Entry Entry, int Reused)
    {
        public KvCache Cache => Entry.Cache;
    }

    readonly List<Entry> entries = [];
    long clock, bytes;
    readonly bool lengthDependentRope = config.Rope.RopeType is "dynamic" or "longrope";

    /// <summary>Bytes of KV memory held (idle entries and the one in use).</summary>
    public long Bytes => Interlocked.Read(ref bytes);
    public int MaxEntries => maxEntries;

    /// <summary>A cache for <paramref name="prompt"/> with room for <paramref name="capacity"/> positions.</summary>
    public Lease Acquire(IReadOnlyList<int> prompt, int capacity)
    {
        Entry? best = null;
        int bestLength = 0;
        foreach (var e in entries)
        {
            int common = CommonPrefix(e.Tokens, prompt);
            if (common > bestLength && ReuseKeepsRopeExact(e, prompt.Count)) (best, bestLength) = (e, common);
        }
        // At least one prompt token must go through the model: its logits give the first new token.
        int reuse = Math.Min(bestLength, prompt.Count - 1);
        if (best is not null && reuse > 0)
        {
            entries.Remove(best);
            if (best.Cache.Capacity < capacity)
            {
                var grown = Allocate(capacity);
                grown.CopyPrefixFrom(best.Cache, reuse);
                Free(best.Cache);
                best.Cache = grown;
            }
            else
            {
                best.Cache.Truncate(reuse);
            }
            return new Lease(best, reuse);
        }
        Entry slot;
        if (entries.Count > 0 && entries.Count >= maxEntries)
        {
            slot = entries.MinBy(e => e.LastUse)!;
            entries.Remove(slot);
            if (slot.Cache.Capacity >= capacity) slot.Cache.Truncate(0);
            else
            {
                Free(slot.Cache);
                slot.Cache = Allocate(capacity);
            }
            slot.Tokens = [];
            slot.PeakLength = 0;
        }
        else
        {
            slot = new Entry(Allocate(capacity));
        }
        return new Lease(slot, 0);
    }

    /// <summary>
    /// Returns a lease: <paramref name="fed"/> are the tokens the request put through the model in order (prompt, then
    /// fed-back outputs); the cache holds the first Cache.Length of them. A failed request's cache is dropped.
    /// </summary>
    public void Release(Lease lease, IReadOnlyList<int> fed, bool keep)
    {
        var e = lease.Entry;
        if (!keep || maxEntries == 0)
        {
            Free(e.Cache);
            return;
        }
        int length = e.Cache.Length;
        e.Tokens = fed.Take(length).ToArray();
        e.PeakLength = Math.Max(e.PeakLength, length);
        e.LastUse = ++clock;
        entries.Add(e);
    }

    /// <summary>
    /// dynamic/longrope rotate by frequencies that depend on the sequence length, so reused keys equal a cold run's only
    /// while every forward stayed below the original context (where the original frequencies apply).
    /// </summary>
    bool ReuseKeepsRopeExact(Entry e, int promptLength)
    {
        if (!lengthDependentRope) return true;
        int original = config.Rope.OriginalMaxPositionEmbeddings ?? config.MaxPositionEmbeddings;
        return e.PeakLength < original && promptLength < original;
    }

    static int CommonPrefix(int[] cached, IReadOnlyList<int> prompt)
    {
        int n = Math.Min(cached.Length, prompt.Count), i = 0;
        while (i < n && cached[i] == prompt[i]) i++;
        return i;
    }

    KvCache Allocate(int capacity)
    {
        // Power-of-two sizes leave room for the next, slightly longer request over the same prefix.
        int size = Math.Min(maxContext, (int)Math.Min(int.MaxValue, Math.Max(256L, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity))));
        size = Math.Max(size, capacity);
        var cache = new KvCache(config, 1, size, dtype, device, storage);
        Interlocked.Add(ref bytes, cache.Bytes);
        return cache;
    }

    void Free(KvCache cache)
    {
        Interlocked.Add(ref bytes, -cache.Bytes);
        cache.Dispose();
    }

    public void Dispose()
    {
        foreach (var e in entries) Free(e.Cache);
        entries.Clear();
    }
}
