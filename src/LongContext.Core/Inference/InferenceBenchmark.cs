using System.Diagnostics;
using LongContext.Core.Model;
using LongContext.Core.Native;
using LongContext.Formats.Config;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

public sealed record PrefillMeasurement(int Length, double Seconds, double TokensPerSecond, double Tflops, long PeakBytes, string? Error,
    string KvCache = "model");
public sealed record DecodeMeasurement(int Context, int Steps, string Mode, double TokensPerSecond, double BandwidthFraction, long PeakBytes, string? Error,
    string KvCache = "model");

/// <summary>One finished chunk of a prefill: how far it got and how long it took so far (a cut run still yields tok/s).</summary>
public sealed record PrefillChunkProgress(int Length, int TokensDone, double Seconds, double ChunkSeconds)
{
    public double TokensPerSecond => TokensDone / Math.Max(Seconds, 1e-9);
}

/// <summary>
/// A long prefill timed once, then decode steps on the same cache: time to first token (the prefill with the first
/// token's logits), decode tok/s after it, and the peak memory of the whole request.
/// </summary>
public sealed record PrefillDecodeMeasurement(int Length, int Chunk, string KvCache, double TtftSeconds, double PrefillTokensPerSecond,
    double PrefillTflops, int DecodeSteps, string DecodeMode, double DecodeTokensPerSecond, double DecodeBandwidthFraction, long KvCacheBytes,
    long PeakBytes, string? Error);

/// <summary>
/// Prefill and batch-1 decode speed of a model shape with random weights (speed does not depend on values).
/// Prefill forms logits for the last position only, like the transformers baseline (bench/hf_prefill.py).
/// </summary>
/// <param name="storage">How the KV cache stores keys and values (the model's dtype or FP8 E4M3).</param>
public sealed class InferenceBenchmark(LlamaForCausalLM model, Attention.IAttentionBackend backend, KvCacheStorage storage = KvCacheStorage.ModelDtype)
{
    /// <summary>Tokens of the short prefill that warms kernels and the allocator when no full-length warm-up run is made.</summary>
    public const int ShortWarmupTokens = 4096;

    public string KvCacheName => StorageName(storage);

    public static string StorageName(KvCacheStorage s) => s == KvCacheStorage.Fp8E4M3 ? "fp8" : "model";

    /// <param name="warmupRuns">Untimed full-length runs first; with 0 a short prefill warms the kernels instead.</param>
    /// <param name="chunks">Reports each chunk of every timed run as it finishes.</param>
    public PrefillMeasurement Prefill(int length, int runs, int chunk, int warmupRuns = 1, IProgress<PrefillChunkProgress>? chunks = null)
    {
        try
        {
            if (warmupRuns == 0) TimePrefill(Math.Min(length, ShortWarmupTokens), Math.Min(chunk, ShortWarmupTokens), 0, null);
            var times = new List<double>();
            for (int r = 0; r < runs + warmupRuns; r++)
            {
                CudaMemory.ResetPeak();
                bool timed = r >= warmupRuns;
                double t = TimePrefill(length, chunk, 0, timed ? chunks : null).Seconds;
                if (timed) times.Add(t);
            }
            double median = times.Order().ElementAt(times.Count / 2);
            return new PrefillMeasurement(length, median, length / median, PrefillFlops(model.Config, length) / median / 1e12,
                CudaMemory.Stats()?.PeakAllocated ?? 0, null, KvCacheName);
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            return new PrefillMeasurement(length, 0, 0, 0, CudaMemory.Stats()?.PeakAllocated ?? 0, "OOM", KvCacheName);
        }
    }

    /// <summary>
    /// One prefill of <paramref name="length"/> random tokens in chunks (timed once, after a short warm-up), then
    /// <paramref name="decodeSteps"/> greedy steps on the same cache (graph replay or eager).
    /// </summary>
    public PrefillDecodeMeasurement PrefillThenDecode(int length, int chunk, int decodeSteps, bool graphs, double bandwidthBytesPerSecond,
        IProgress<PrefillChunkProgress>? chunks = null)
    {
        string mode = graphs ? "graphs" : "eager";
        try
        {
            TimePrefill(Math.Min(length, ShortWarmupTokens), Math.Min(chunk, ShortWarmupTokens), 0, null);
            CudaMemory.ResetPeak();
            var (ttft, cache, token) = TimePrefill(length, chunk, decodeSteps + 8, chunks, keepCache: true);
            using (cache)
            {
                double decodeTps = 0, fraction = 0;
                if (decodeSteps > 0)
                {
                    using var _ = no_grad();
                    var generator = new TextGenerator(model, backend);
                    var sampler = new Sampler(SamplingOptions.Greedy);
                    using var decoder = graphs ? new GraphedDecoder(model, cache!, useGraphs: true) : null;
                    for (int i = 0; i < 4; i++) token = generator.DecodeStep(token, cache!, sampler, decoder); // warm-up (and capture)
                    Synchronize();
                    var sw = Stopwatch.StartNew();
                    for (int i = 0; i < decodeSteps; i++) token = generator.DecodeStep(token, cache!, sampler, decoder);
                    double seconds = sw.Elapsed.TotalSeconds;
                    decodeTps = decodeSteps / seconds;
                    fraction = DecodeFloorSeconds(length + decodeSteps / 2, bandwidthBytesPerSecond) * decodeTps;
                }
                return new PrefillDecodeMeasurement(length, chunk, KvCacheName, ttft, length / ttft, PrefillFlops(model.Config, length) / ttft / 1e12,
                    decodeSteps, mode, decodeTps, fraction, cache!.Bytes, CudaMemory.Stats()?.PeakAllocated ?? 0, null);
            }
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            return new PrefillDecodeMeasurement(length, chunk, KvCacheName, 0, 0, 0, decodeSteps, mode, 0, 0, 0, CudaMemory.Stats()?.PeakAllocated ?? 0, "OOM");
        }
    }

    (double Seconds, KvCache? Cache, int FirstToken) TimePrefill(int length, int chunk, int extraCapacity, IProgress<PrefillChunkProgress>? chunks,
        bool keepCache = false)
    {
        using var _ = no_grad();
        int capacity = extraCapacity == 0 ? length
            : (length + extraCapacity + GraphedDecoder.DefaultBucket - 1) / GraphedDecoder.DefaultBucket * GraphedDecoder.DefaultBucket;
        var cache = new KvCache(model.Config, 1, capacity, model.Dtype, model.Device, storage);
        try
        {
            var ids = randint(0, model.Config.VocabSize, new long[] { 1, length }, device: model.Device);
            Synchronize();
            var sw = Stopwatch.StartNew();
            int first = -1;
            for (int start = 0; start < length; start += chunk)
            {
                var chunkStart = sw.Elapsed.TotalSeconds;
                using (var scope = NewDisposeScope())
                {
                    int len = Math.Min(chunk, length - start);
                    var hidden = model.Forward(ids.narrow(1, start, len), backend, cache, ropeSequenceLength: length);
                    if (start + len == length) first = (int)model.Logits(hidden[0, -1]).argmax().item<long>();
                    else if (chunks is not null) Synchronize();
                }
                if (chunks is not null)
                {
                    double now = sw.Elapsed.TotalSeconds;
                    chunks.Report(new PrefillChunkProgress(length, Math.Min(length, start + chunk), now, now - chunkStart));
                }
            }
            Synchronize();
            double seconds = sw.Elapsed.TotalSeconds;
            ids.Dispose();
            if (keepCache) return (seconds, cache, first);
            cache.Dispose();
            return (seconds, null, first);
        }
        catch
        {
            cache.Dispose();
            throw;
        }
    }

    /// <param name="graphs">Replay CUDA graphs (<see cref="GraphedDecoder"/>) instead of eager steps.</param>
    public DecodeMeasurement Decode(int context, int steps, int chunk, double bandwidthBytesPerSecond, bool graphs = false)
    {
        string mode = graphs ? "graphs" : "eager";
        try
        {
            using var _ = no_grad();
            CudaMemory.ResetPeak();
            // + warm-up steps, rounded like TextGenerator's caches
            int capacity = (context + steps + 8 + GraphedDecoder.DefaultBucket - 1) / GraphedDecoder.DefaultBucket * GraphedDecoder.DefaultBucket;
            using var cache = new KvCache(model.Config, 1, capacity, model.Dtype, model.Device, storage);
            var generator = new TextGenerator(model, backend);
            var sampler = new Sampler(SamplingOptions.Greedy);
            var prompt = Enumerable.Range(0, context).Select(i => (i * 7919) % model.Config.VocabSize).ToArray();
            int token = generator.Prefill(prompt, cache, chunk, sampler);
            using var decoder = graphs ? new GraphedDecoder(model, cache, useGraphs: true) : null;
            for (int i = 0; i < 4; i++) token = generator.DecodeStep(token, cache, sampler, decoder); // warm-up (and capture)
            Synchronize();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) token = generator.DecodeStep(token, cache, sampler, decoder);
            double seconds = sw.Elapsed.TotalSeconds;
            double tps = steps / seconds;
            return new DecodeMeasurement(context, steps, mode, tps, DecodeFloorSeconds(context + steps / 2, bandwidthBytesPerSecond) * tps,
                CudaMemory.Stats()?.PeakAllocated ?? 0, null, KvCacheName);
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            return new DecodeMeasurement(context, steps, mode, 0, 0, 0, "OOM", KvCacheName);
        }
    }

    /// <summary>The least a decode step at <paramref name="context"/> must read: every weight once and the stored KV cache once.</summary>
    public double DecodeFloorSeconds(int context, double bandwidthBytesPerSecond)
    {
        long weightBytes = model.parameters().Sum(p => p.NumberOfElements * p.ElementSize);
        double kvBytes = (double)context * ModelMath.KvCacheBytesPerToken(model.Config, storage == KvCacheStorage.Fp8E4M3 ? 1 : 2);
        return (weightBytes + kvBytes) / bandwidthBytesPerSecond;
    }

    /// <summary>Forward FLOPs: 2·N·L for the matmuls (no embedding gather, one LM-head row) + causal attention 2·layers·L²·Hq·D.</summary>
    public static double PrefillFlops(ModelConfig c, int length)
    {
        double n = ModelMath.ParameterCount(c) - (double)c.VocabSize * c.HiddenSize * (c.TieWordEmbeddings ? 1 : 2);
        double attention = 2.0 * c.NumHiddenLayers * (double)length * length * c.NumAttentionHeads * c.HeadDim;
        return 2.0 * n * length + attention;
    }

    static bool IsOutOfMemory(Exception e) =>
        e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || (e.InnerException is { } inner && IsOutOfMemory(inner));

    void Synchronize()
    {
        if (model.Device.type == TorchSharp.DeviceType.CUDA) TorchSharp.torch.cuda.synchronize(model.Device);
    }
}
