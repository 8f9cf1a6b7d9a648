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
        if (ids.Count < 2) throw new ArgumentException("perplexity needs at least two tokens");
        using var _ = no_grad();
        using var cache = new KvCache(model.Config, 1, ids.Count, model.Dtype, model.Device);
        double nllSum = 0;
        int predicted = 0;
        for (int start = 0; start < ids.Count; start += chunk)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int len = Math.Min(chunk, ids.Count - start);
            var input = tensor(ids.Skip(start).Take(len).Select(i => (long)i).ToArray(), device: model.Device).unsqueeze(0);
            var hidden = model.Forward(input, backend, cache, ropeSequenceLength: ids.Count)[0];                        // [len, hidden]
            // Position p predicts token p + 1; the very last token of the text predicts nothing.
            int usable = Math.Min(len, ids.Count - 1 - start);
            for (int off = 0; off < usable; off += logitsChunk)
            {
                int m = Math.Min(logitsChunk, usable - off);
                var logits = model.Logits(hidden.narrow(0, off, m));                     // [m, vocab] fp32
                var targets = tensor(ids.Skip(start + off + 1).Take(m).Select(i => (long)i).ToArray(), device: model.Device);
                var nll = -logits.log_softmax(-1).gather(1, targets.unsqueeze(1)).squeeze(1);
                nllSum += nll.to(ScalarType.Float64).sum().item<double>();
                predicted += m;
            }
            progress?.Report(start + len);
        }
        double mean = nllSum / predicted;
        return new PerplexityResult(ids.Count, mean, Math.Exp(mean));
    }
}
