using System.Diagnostics;
using LongContext.Core.Model;
using LongContext.Core.Native;
using LongContext.Formats.Config;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

public sealed record PrefillMeasurement(int Length, double Seconds, double TokensPerSecond, double Tflops, long PeakBytes, string? Error);
public sealed record DecodeMeasurement(int Context, int Steps, string Mode, double TokensPerSecond, double BandwidthFraction, long PeakBytes, string? Error);

/// <summary>
/// Prefill and batch-1 decode speed of a model shape with random weights (speed does not depend on values).
/// Prefill forms logits for the last position only, like the transformers baseline (bench/hf_prefill.py).
/// </summary>
public sealed class InferenceBenchmark(LlamaForCausalLM model, Attention.IAttentionBackend backend)
{
    public PrefillMeasurement Prefill(int length, int runs, int chunk)
    {
        try
        {
            var times = new List<double>();
            for (int r = 0; r < runs + 1; r++)   // the first run warms up kernels and the allocator
            {
                CudaMemory.ResetPeak();
                double t = TimePrefill(length, chunk);
                if (r > 0) times.Add(t);
            }
            double median = times.Order().ElementAt(times.Count / 2);
            return new PrefillMeasurement(length, median, length / median, PrefillFlops(model.Config, length) / median / 1e12,
                CudaMemory.Stats()?.PeakAllocated ?? 0, null);
        }
        catch (Exception e) when (e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase))
        {
            return new PrefillMeasurement(length, 0, 0, 0, 0, "OOM");
        }
    }

    double TimePrefill(int length, int chunk)
    {
        using var _ = no_grad();
        using var cache = new KvCache(model.Config, 1, length, model.Dtype, model.Device);
        var ids = randint(0, model.Config.VocabSize, new long[] { 1, length }, device: model.Device);
        Synchronize();
        var sw = Stopwatch.StartNew();
        for (int start = 0; start < length; start += chunk)
        {
            using var scope = NewDisposeScope();
            int len = Math.Min(chunk, length - start);
            var hidden = model.Forward(ids.narrow(1, start, len), backend, cache, ropeSequenceLength: length);
            if (start + len == length) model.Logits(hidden[0, -1]).argmax().item<long>();
        }
        Synchronize();
        ids.Dispose();
        return sw.Elapsed.TotalSeconds;
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
            using var cache = new KvCache(model.Config, 1, capacity, model.Dtype, model.Device);
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
            // The least a step must read: every weight once and the whole KV cache once.
            long weightBytes = model.parameters().Sum(p => p.NumberOfElements * p.ElementSize);
            double kvBytes = (double)(context + steps / 2) * ModelMath.KvCacheBytesPerToken(model.Config, 2);
            double floorSeconds = (weightBytes + kvBytes) / bandwidthBytesPerSecond;
            return new DecodeMeasurement(context, steps, mode, tps, floorSeconds * tps, CudaMemory.Stats()?.PeakAllocated ?? 0, null);
        }
        catch (Exception e) when (e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase))
        {
            return new DecodeMeasurement(context, steps, mode, 0, 0, 0, "OOM");
        }
    }

    /// <summary>Forward FLOPs: 2·N·L for the matmuls (no embedding gather, one LM-head row) + causal attention 2·layers·L²·Hq·D.</summary>
    public static double PrefillFlops(ModelConfig c, int length)
    {
        double n = ModelMath.ParameterCount(c) - (double)c.VocabSize * c.HiddenSize * (c.TieWordEmbeddings ? 1 : 2);
        double attention = 2.0 * c.NumHiddenLayers * (double)length * length * c.NumAttentionHeads * c.HeadDim;
        return 2.0 * n * length + attention;
    }

    void Synchronize()
    {
        if (model.Device.type == TorchSharp.DeviceType.CUDA) TorchSharp.torch.cuda.synchronize(model.Device);
    }
}
