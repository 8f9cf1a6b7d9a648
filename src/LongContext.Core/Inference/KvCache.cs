using LongContext.Core.Config;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

/// <summary>
/// Preallocated keys and values for every layer, [B, Hkv, capacity, D] each, so decoding never reallocates or
/// copies the history. Layers append at <see cref="Length"/>; the model advances it once per forward.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] keys, values;

    public KvCache(ModelConfig config, int batch, int capacity, ScalarType dtype, Device device)
    {
        Capacity = capacity;
        keys = new Tensor[config.NumHiddenLayers];
        values = new Tensor[config.NumHiddenLayers];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = empty(new long[] { batch, config.NumKeyValueHeads, capacity, config.HeadDim }, dtype: dtype, device: device).DetachFromDisposeScope();
            values[i] = empty(new long[] { batch, config.NumKeyValueHeads, capacity, config.HeadDim }, dtype: dtype, device: device).DetachFromDisposeScope();
        }
    }

    public int Capacity { get; }
    /// <summary>Positions stored (and valid) in every layer.</summary>
    public int Length { get; private set; }
    public long Bytes => keys.Sum(k => k.NumberOfElements * k.ElementSize) * 2;

    /// <summary>Writes this chunk's k/v [B, Hkv, L, D] after the stored ones and returns views of all S = Length + L.</summary>
    public (Tensor k, Tensor v) Append(int layer, Tensor k, Tensor v)
    {
        long l = k.shape[2];
        if (Length + l > Capacity)
            throw new LongContextException($"the KV cache holds {Capacity} positions; {Length} + {l} do not fit. Raise --max-context (or the cache capacity).");
        keys[layer].narrow(2, Length, l).copy_(k);
        values[layer].narrow(2, Length, l).copy_(v);
        return (keys[layer].narrow(2, 0, Length + l), values[layer].narrow(2, 0, Length + l));
    }

    /// <summary>Called by the model after all layers appended a chunk of <paramref name="count"/> positions.</summary>
    public void Advance(int count) => Length += count;

    /// <summary>Forgets positions at and after <paramref name="length"/> (reuse of a shared prefix).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
    }

    /// <summary>
    /// Copies the first <paramref name="length"/> positions of <paramref name="source"/> into this (empty or longer)
    /// cache and sets <see cref="Length"/> to it: a prefix kept while the cache grows to a larger capacity.
    /// </summary>
    public void CopyPrefixFrom(KvCache source, int length)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.keys.Length != keys.Length) throw new ArgumentException("the caches belong to models with different layer counts", nameof(source));
        if (length < 0 || length > source.Length || length > Capacity) throw new ArgumentOutOfRangeException(nameof(length));
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i].narrow(2, 0, length).copy_(source.keys[i].narrow(2, 0, length));
            values[i].narrow(2, 0, length).copy_(source.values[i].narrow(2, 0, length));
        }
        Length = length;
    }

    public void Dispose()
    {
        foreach (var t in keys.Concat(values)) t.Dispose();
    }
}
