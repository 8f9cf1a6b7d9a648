using LongContext.Core.Inference;
using LongContext.Eval.Backends;
using LongContext.Formats.Tokenization;
using LongContext.Eval.Perplexity;

namespace LongContext.Eval.Engine;

/// <summary>Per-token losses on the in-process engine: one KV-cached pass in chunks, logits for a bounded number of positions at a time.</summary>
public sealed class EngineTokenLossScorer(EngineSession session) : ITokenLossScorer, IDisposable
{
    public string ModelId { get; } = EngineLocalGenerator.Fingerprint(session.ModelDir);
    public ITextTokenizer Tokenizer => session.Tokenizer;

    public float[] TokenLosses(IReadOnlyList<int> ids, int chunk, IProgress<int>? progress, CancellationToken ct) =>
        Core.Inference.Perplexity.TokenLosses(session.Model, ids, session.Backend, chunk, progress: progress, ct: ct);

    public void Dispose() => session.Dispose();
}
