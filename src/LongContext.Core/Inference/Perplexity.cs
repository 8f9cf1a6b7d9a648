using LongContext.Core.Attention;
using LongContext.Core.Model;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

public sealed record PerplexityResult(int TokenCount, double MeanNll, double Perplexity);

/// <summary>
/// exp(mean NLL of tokens 1..n−1 given their prefix). The text runs through the model in chunks with a KV cache,
/// and logits are formed for a bounded number of positions at a time, never [n, vocab] at once.
/// </summary>
public static class Perplexity
{
    public static PerplexityResult Compute(LlamaForCausalLM model, IReadOnlyList<int> ids, IAttentionBackend backend,
        int chunk = 4096, int logitsChunk = 1024, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        var nll = TokenLosses(model, ids, backend, chunk, logitsChunk, progress, ct);
        double mean = nll.Sum(x => (double)x) / nll.Length;
        return new PerplexityResult(ids.Count, mean, Math.Exp(mean));
    }

    /// <summary>
    /// Per-token NLL in nats: result[p − 1] = −log P(ids[p] | ids[0..p−1]) for p = 1..n−1, each token given its whole
    /// prefix (one KV-cached pass in chunks of <paramref name="chunk"/> tokens). Only the [n − 1] losses grow with the
    /// sequence; logits exist for at most <paramref name="logitsChunk"/> positions at a time. Progress reports tokens done.
    /// </summary>
    public static float[] TokenLosses(LlamaForCausalLM model, IReadOnlyList<int> ids, IAttentionBackend backend,
        int chunk = 4096, int logitsChunk = 1024, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        if (ids.Count < 2) throw new ArgumentException("perplexity needs at least two tokens");
        if (chunk < 1 || logitsChunk < 1) throw new ArgumentException("chunk sizes must be positive");
        using var _ = no_grad();
        using var cache = new KvCache(model.Config, 1, ids.Count, model.Dtype, model.Device);
        var losses = new float[ids.Count - 1];
        var all = ids.Select(i => (long)i).ToArray();
        for (int start = 0; start < ids.Count; start += chunk)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int len = Math.Min(chunk, ids.Count - start);
            var input = tensor(all.AsSpan(start, len).ToArray(), device: model.Device).unsqueeze(0);
            var hidden = model.Forward(input, backend, cache, ropeSequenceLength: ids.Count)[0];                        // [len, hidden]
            // Position p predicts token p + 1; the very last token of the text predicts nothing.
            int usable = Math.Min(len, ids.Count - 1 - start);
            for (int off = 0; off < usable; off += logitsChunk)
            {
                int m = Math.Min(logitsChunk, usable - off);
                var logits = model.Logits(hidden.narrow(0, off, m));                     // [m, vocab] fp32
                var targets = tensor(all.AsSpan(start + off + 1, m).ToArray(), device: model.Device);
                var nll = -logits.log_softmax(-1).gather(1, targets.unsqueeze(1)).squeeze(1);   // [m]
                Array.Copy(nll.to(ScalarType.Float32).cpu().data<float>().ToArray(), 0, losses, start + off, m);
            }
            progress?.Report(start + len);
        }
        return losses;
    }
}
