using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Perplexity;

/// <summary>What perplexity by position needs from a model: its tokenizer and per-token losses of a token sequence.</summary>
public interface ITokenLossScorer
{
    /// <summary>Names the model for manifests (folder and weights fingerprint).</summary>
    string ModelId { get; }
    ITextTokenizer Tokenizer { get; }

    /// <summary>
    /// NLL in nats of every token after the first, each given its whole prefix in <paramref name="ids"/>:
    /// result[p − 1] = −log P(ids[p] | ids[0..p−1]), length ids.Count − 1. The sequence runs in KV-cached chunks of
    /// <paramref name="chunk"/> tokens, so only the losses grow with its length. Progress reports tokens done.
    /// </summary>
    float[] TokenLosses(IReadOnlyList<int> ids, int chunk, IProgress<int>? progress, CancellationToken ct);
}
