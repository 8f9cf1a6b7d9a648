namespace LongContext.Server.Scheduling;

/// <summary>How the scheduler shares the engine.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Requests that may wait behind the running one; more are refused (HTTP 429).</summary>
    public int QueueCapacity { get; init; } = 16;
    /// <summary>KV caches kept for prefix reuse (0 = a fresh cache per request).</summary>
    public int PrefixCacheEntries { get; init; } = 2;
    /// <summary>Prompt + new tokens at most; null = the model's max_position_embeddings.</summary>
    public int? MaxContext { get; init; }
    /// <summary>Prompt tokens per prefill forward.</summary>
    public int PrefillChunk { get; init; } = 16384;
    /// <summary>KV cache storage of the pooled caches (FP8 halves their memory).</summary>
    public LongContext.Core.Inference.KvCacheStorage KvCache { get; init; } = LongContext.Core.Inference.KvCacheStorage.ModelDtype;
    /// <summary>Prompts of at least this many UTF-8 bytes are "large": only LargePromptTokenizations are tokenized at once.</summary>
    public long LargePromptBytes { get; init; } = 1 << 20;
    /// <summary>Large prompts tokenized at the same time; more get 429 (tokenizing runs outside the queue bound).</summary>
    public int LargePromptTokenizations { get; init; } = 2;
    /// <summary>The id clients name; null = the model folder's name.</summary>
    public string? ModelId { get; init; }
}

/// <summary>Counters since start (monotonic) and gauges (now), read by /metrics and /health.</summary>
public sealed record SchedulerStats(
    int QueueLength,
    int ActiveRequests,
    long RequestsCompleted,
    long RequestsCancelled,
    long RequestsFailed,
    long RequestsRejected,
    long PromptTokens,
    long CompletionTokens,
    long CachedPromptTokens,
    long PrefixCacheHits,
    long PrefixCacheMisses,
    long KvCacheBytes,
    double PrefillSeconds,
    double DecodeSeconds,
    double LastTokensPerSecond);
