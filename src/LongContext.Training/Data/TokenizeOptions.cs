namespace LongContext.Training.Data;

/// <summary>How documents become tokens for the cache.</summary>
public sealed record TokenizeOptions
{
    /// <summary>Run the tokenizer's post-processor (Llama-3: prepends BOS). Default true.</summary>
    public bool AddSpecialTokens { get; init; } = true;
    /// <summary>End every document with the EOS id (unless the post-processor already did). Default true.</summary>
    public bool AppendEos { get; init; } = true;
    /// <summary>EOS id to append instead of the tokenizer's eos_token (e.g. &lt;|end_of_text|&gt; for an instruct tokenizer).</summary>
    public int? EosTokenId { get; init; }
    /// <summary>Tokenizer threads. Default: all cores.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;
    /// <summary>Characters read ahead per parallel chunk (bounds memory: about three chunks are alive). Default 8M.</summary>
    public int ChunkCharacters { get; init; } = 8 << 20;
    /// <summary>Rebuild even when the existing cache matches.</summary>
    public bool ForceRebuild { get; init; }
}

/// <summary>Tokenization progress for the CLI.</summary>
public sealed record TokenizeProgress(long Documents, long Tokens, long Characters, TimeSpan Elapsed)
{
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? Tokens / Elapsed.TotalSeconds : 0;
}

/// <summary>An opened cache and whether it was reused or (re)built, and why. Disposing it disposes the cache.</summary>
public sealed record TokenCacheResult(TokenCache Cache, bool Reused, string Reason) : IDisposable
{
    public void Dispose() => Cache.Dispose();
}
