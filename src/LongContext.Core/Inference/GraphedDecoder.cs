using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

/// <summary>
/// Batch-1 decode steps replayed from CUDA graphs. An eager step launches ~15 kernels per layer from managed code,
/// so at batch 1 the GPU mostly waits for the host (transformers: ~10% of the memory-bandwidth limit). Here a step
/// reads its token and position from device tensors, writes its K/V at that position and attends over a fixed
/// window of cache slots with the later ones masked; such a step is captured once per window (a multiple of
/// <see cref="Bucket"/> slots) and replayed at every position inside it. Without CUDA graphs (CPU, tests) the
/// same step runs eagerly, which is how its numerics are checked against the plain decode path.
/// </summary>
public sealed class GraphedDecoder : IDisposable
{
    public const int DefaultBucket = 2048;

    readonly LlamaForCausalLM model;
    readonly KvCache cache;
    readonly GroupedDecodeAttention attention = new();
    readonly Tensor inputIds, position, slots, logits;
    readonly SortedDictionary<int, CudaGraph> graphs = [];

    public GraphedDecoder(LlamaForCausalLM model, KvCache cache, bool? useGraphs = null, int bucket = DefaultBucket)
    {
        if (!IsSupported(model, out var reason)) throw new NotSupportedException(reason);
        if (bucket <= 0) throw new ArgumentOutOfRangeException(nameof(bucket));
        this.model = model;
        this.cache = cache;
        Bucket = bucket;
        UsesGraphs = useGraphs ?? GraphsAvailable(model.Device);
        if (UsesGraphs && !GraphsAvailable(model.Device))
            throw new NotSupportedException("CUDA graphs need a CUDA device and the native add-on (scripts/build-native.sh)");
        var device = model.Device;
        inputIds = zeros(new long[] { 1, 1 }, ScalarType.Int64, device).DetachFromDisposeScope();
        position = zeros(new long[] { 1 }, ScalarType.Int64, device).DetachFromDisposeScope();
        slots = arange(cache.Capacity, dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
        logits = zeros(new long[] { model.Config.VocabSize }, ScalarType.Float32, device).DetachFromDisposeScope();
    }

    public int Bucket { get; }
    public bool UsesGraphs { get; }

    /// <summary>Graphs captured so far (one per window reached).</summary>
    public int GraphsCaptured { get; private set; }

    /// <summary>Whether the graph path applies to this model: RoPE whose frequencies do not depend on the length.</summary>
    public static bool IsSupported(LlamaForCausalLM model, out string reason)
    {
        reason = "";
        if (model.Config.Rope.RopeType is "dynamic" or "longrope")
        {
            reason = $"rope_type {model.Config.Rope.RopeType} changes its frequencies with the sequence length; decode runs eagerly";
            return false;
        }
        if (model.Config.SlidingWindow is not null)
        {
            reason = "sliding-window attention decodes eagerly";
            return false;
        }
        return true;
    }

    public static bool GraphsAvailable(Device device) => device.type == DeviceType.CUDA && NativeAddon.IsAvailable;

    /// <summary>Feeds <paramref name="token"/> at the cache's next position and returns the next-token logits
    /// [vocab] fp32 (a buffer overwritten by the next step). The cache advances by one.</summary>
    public Tensor Step(int token)
    {
        int pos = cache.Length;
        if (pos >= cache.Capacity)
            throw new LongContextException($"the KV cache holds {cache.Capacity} positions and is full. Raise --max-context (or the cache capacity).");
        int window = WindowFor(pos);
        inputIds.fill_(token);
        position.fill_(pos);
        if (!UsesGraphs) RunStep(window);
        else GraphFor(window).Replay();
        cache.SetLength(pos + 1);
        return logits;
    }

    /// <summary>
    /// Cache slots the step at <paramref name="position"/> attends over (the rest are masked): the next multiple of
    /// <see cref="Bucket"/>, or the whole cache once that is near, since a whole-cache window lets the attention
    /// split its long reduction without copying V (<see cref="GroupedDecodeAttention"/>).
    /// </summary>
    public int WindowFor(int position)
    {
        int capacity = cache.Capacity;
        if (capacity - position <= Math.Max(Bucket, capacity / 8)) return capacity;
        return Math.Min(capacity, (position / Bucket + 1) * Bucket);
    }

    CudaGraph GraphFor(int window)
    {
        if (graphs.TryGetValue(window, out var graph)) return graph;
        // Positions only grow within a generation: graphs of smaller windows will not run again.
        foreach (var old in graphs.Keys.Where(w => w < window).ToList())
        {
            graphs[old].Dispose();
            graphs.Remove(old);
        }
        RunStep(window);   // warm-up outside capture (kernel selection, allocator); it rewrites the same slot
        graph = new CudaGraph();
        graph.Capture(() => RunStep(window));
        graphs[window] = graph;
        GraphsCaptured++;
        return graph;
    }

    void RunStep(int window)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        attention.Mask = zeros(window, ScalarType.Float32, model.Device)
            .masked_fill(slots.narrow(0, 0, window) > position, double.NegativeInfinity);
        try
        {
            using (cache.UseDevicePosition(position, window, fp8Codes: true))   // the attention reads FP8 codes itself
            {
                var hidden = model.Forward(inputIds, attention, cache, positionIds: position.view(1, 1), ropeSequenceLength: cache.Capacity);
                logits.copy_(model.Logits(hidden[0, -1]));
            }
        }
        finally { attention.Mask = null; }
    }

    public void Dispose()
    {
        foreach (var g in graphs.Values) g.Dispose();
        graphs.Clear();
        inputIds.Dispose();
        position.Dispose();
        slots.Dispose();
        logits.Dispose();
    }
}
