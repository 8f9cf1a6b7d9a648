using LongContext.Formats.Config;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

/// <summary>How a <see cref="KvCache"/> stores keys and values.</summary>
public enum KvCacheStorage
{
    /// <summary>In the model's dtype (bf16 on GPUs).</summary>
    ModelDtype,
    /// <summary>FP8 E4M3 codes, half of bf16's memory: twice the context in the same space, at the cost of
    /// quantised keys/values (≤ 1/16 relative error each). Graph decode hands the codes to the split-KV kernel, which
    /// reads one byte per element; prefill and eager decode get the attended window decoded to the model dtype.</summary>
    Fp8E4M3,
}

/// <summary>
/// Preallocated keys and values for every layer, [B, Hkv, capacity, D] each, so decoding never reallocates or
/// copies the history. Layers append at <see cref="Length"/>; the model advances it once per forward.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] keys, values;
    readonly ScalarType dtype;
    Tensor? devicePosition;
    int deviceWindow;
    bool deviceCodes;

    public KvCache(ModelConfig config, int batch, int capacity, ScalarType dtype, Device device, KvCacheStorage storage = KvCacheStorage.ModelDtype)
    {
        Capacity = capacity;
        Storage = storage;
        this.dtype = dtype;
        var stored = storage == KvCacheStorage.Fp8E4M3 ? ScalarType.Byte : dtype;
        keys = new Tensor[config.NumHiddenLayers];
        values = new Tensor[config.NumHiddenLayers];
        for (int i = 0; i < keys.Length; i++)
        {
            // Zeroed, not empty: a graph decode step reads whole windows (masked), and 0·NaN would still be NaN.
            keys[i] = zeros(new long[] { batch, config.NumKeyValueHeads, capacity, config.HeadDim }, dtype: stored, device: device).DetachFromDisposeScope();
            values[i] = zeros(new long[] { batch, config.NumKeyValueHeads, capacity, config.HeadDim }, dtype: stored, device: device).DetachFromDisposeScope();
        }
    }

    public int Capacity { get; }
    public KvCacheStorage Storage { get; }
    /// <summary>Positions stored (and valid) in every layer.</summary>
    public int Length { get; private set; }
    public long Bytes => keys.Sum(k => k.NumberOfElements * k.ElementSize) * 2;

    /// <summary>Writes this chunk's k/v [B, Hkv, L, D] after the stored ones and returns views of all S = Length + L.</summary>
    public (Tensor k, Tensor v) Append(int layer, Tensor k, Tensor v)
    {
        if (devicePosition is not null)
        {
            // Graph-replayable: the slot comes from a device tensor, never from host state.
            keys[layer].index_copy_(2, devicePosition, Store(k));
            values[layer].index_copy_(2, devicePosition, Store(v));
            var (windowK, windowV) = (keys[layer].narrow(2, 0, deviceWindow), values[layer].narrow(2, 0, deviceWindow));
            return deviceCodes ? (windowK, windowV) : (Load(windowK), Load(windowV));
        }
        long l = k.shape[2];
        if (Length + l > Capacity)
            throw new LongContextException($"the KV cache holds {Capacity} positions; {Length} + {l} do not fit. Raise --max-context (or the cache capacity).");
        keys[layer].narrow(2, Length, l).copy_(Store(k));
        values[layer].narrow(2, Length, l).copy_(Store(v));
        return (Load(keys[layer].narrow(2, 0, Length + l)), Load(values[layer].narrow(2, 0, Length + l)));
    }

    /// <summary>Called by the model after all layers appended a chunk of <paramref name="count"/> positions
    /// (ignored in device-position mode, where the caller keeps the count).</summary>
    public void Advance(int count)
    {
        if (devicePosition is null) Length += count;
    }

    /// <summary>
    /// Device-position mode for one-token decode steps that are captured once and replayed (CUDA graphs): each
    /// layer writes its token at the slot held in <paramref name="position"/> (int64 [1] on the cache's device) and
    /// gets back the first <paramref name="window"/> slots, of which the caller masks those after the position.
    /// Nothing in this mode reads host state, so a captured step is valid at any position below the window.
    /// With <paramref name="fp8Codes"/>, an FP8 cache returns its stored codes (uint8) instead of decoded values, for
    /// an attention that reads them itself (<see cref="Attention.GroupedDecodeAttention"/>).
    /// </summary>
    public IDisposable UseDevicePosition(Tensor position, int window, bool fp8Codes = false)
    {
        if (window <= 0 || window > Capacity) throw new ArgumentOutOfRangeException(nameof(window), $"window {window} must be in 1..{Capacity}");
        devicePosition = position;
        deviceWindow = window;
        deviceCodes = fp8Codes;
        return new DevicePositionScope(this);
    }

    /// <summary>Records that positions up to <paramref name="length"/> are valid (after device-position steps).</summary>
    public void SetLength(int length)
    {
        if (length < 0 || length > Capacity) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
    }

    sealed class DevicePositionScope(KvCache cache) : IDisposable
    {
        public void Dispose()
        {
            cache.devicePosition = null;
            cache.deviceCodes = false;
        }
    }

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
        if (source.Storage != Storage) throw new ArgumentException($"the caches store {source.Storage} and {Storage}", nameof(source));
        if (source.keys.Length != keys.Length) throw new ArgumentException("the caches belong to models with different layer counts", nameof(source));
        if (length < 0 || length > source.Length || length > Capacity) throw new ArgumentOutOfRangeException(nameof(length));
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i].narrow(2, 0, length).copy_(source.keys[i].narrow(2, 0, length));
            values[i].narrow(2, 0, length).copy_(source.values[i].narrow(2, 0, length));
        }
        Length = length;
    }

    Tensor Store(Tensor t) => Storage == KvCacheStorage.Fp8E4M3 ? Fp8E4M3.Encode(t) : t;

    /// <summary>Stored slots as the model's dtype: a view for <see cref="KvCacheStorage.ModelDtype"/>, a decoded copy for FP8.</summary>
    Tensor Load(Tensor slots) => Storage == KvCacheStorage.Fp8E4M3 ? Fp8E4M3.Decode(slots, dtype) : slots;

    public void Dispose()
    {
        foreach (var t in keys.Concat(values)) t.Dispose();
    }
}
