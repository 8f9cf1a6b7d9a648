namespace LongContext.Core.Inference;

/// <summary>How the next token is chosen. Temperature 0 means greedy (argmax).</summary>
public sealed record SamplingOptions
{
    /// <summary>Temperatures below this sample the argmax, their limit (as vLLM does): logits / 1e-39 overflow to ±∞.</summary>
    public const double GreedyBelow = 1e-5;

    public double Temperature { get; init; }
    /// <summary>Keep the k most likely tokens (0 = all).</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set whose probability reaches p (1 = all).</summary>
    public double TopP { get; init; } = 1.0;
    public long? Seed { get; init; }

    public bool IsGreedy => Temperature < GreedyBelow;
    public static readonly SamplingOptions Greedy = new();
}

/// <summary>Everything a generation call needs besides the prompt.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 128;
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    public IReadOnlyCollection<int> StopTokenIds { get; init; } = [];
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Prompt tokens per prefill forward (bounds activation memory at long context).</summary>
    public int PrefillChunk { get; init; } = 4096;
    /// <summary>KV cache storage (FP8 halves its memory).</summary>
    public KvCacheStorage KvCache { get; init; } = KvCacheStorage.ModelDtype;
}
