namespace LongContext.Eval.Perplexity;

/// <summary>
/// Perplexity by position. Every document is tokenized with the model's tokenizer (BOS included, as the tokenizer adds
/// it) and cut to <see cref="Length"/> tokens; the loss of the token at position p (BOS is position 0) goes to bucket
/// p / <see cref="BucketSize"/>.
/// </summary>
public sealed record PerplexityOptions
{
    /// <summary>Tokens per document scored (the curve's full length).</summary>
    public required int Length { get; init; }
    public int BucketSize { get; init; } = 1024;
    /// <summary>Documents scored (the first that qualify, in the source's order).</summary>
    public int Documents { get; init; } = 10;
    /// <summary>Also score documents shorter than <see cref="Length"/> (then later buckets average fewer documents).</summary>
    public bool IncludeShort { get; init; }
    /// <summary>
    /// Null: one pass over the document, each token given its whole prefix (the curve papers show for extended models).
    /// A value: sliding windows of this many tokens moved by <see cref="Stride"/>, each token scored once with at most
    /// this much context (Press et al.; HF's perplexity guide; PI and YaRN use stride 256).
    /// </summary>
    public int? Window { get; init; }
    public int Stride { get; init; } = 256;
    /// <summary>Tokens per forward pass (KV-cached between chunks).</summary>
    public int Chunk { get; init; } = 4096;

    internal void Validate()
    {
        if (Length < 2) throw new EvalException("--length must be at least 2 tokens.");
        if (BucketSize < 1) throw new EvalException("--bucket must be positive.");
        if (Documents < 1) throw new EvalException("--documents must be at least 1.");
        if (Chunk < 1) throw new EvalException("--chunk must be positive.");
        if (Window is int w)
        {
            if (w < 2) throw new EvalException("--window must be at least 2 tokens (or none).");
            if (Stride < 1 || Stride > w) throw new EvalException($"--stride must be between 1 and the window ({w}).");
        }
    }

    /// <summary>"none" or "sliding W/S", as reports state it.</summary>
    public string WindowName => Window is int w ? $"sliding {w}/{Stride}" : "none";
}
