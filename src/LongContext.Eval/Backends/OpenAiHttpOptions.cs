namespace LongContext.Eval.Backends;

/// <summary>Chat: POST /chat/completions with the prefix at the end of the user message. Completions: POST /completions with the prompt rendered by a chat template and the prefix appended.</summary>
public enum EndpointMode { Chat, Completions }

/// <summary>Settings of an OpenAI-compatible endpoint (vLLM, TGI, SGLang, llama.cpp, ollama, `longctx serve`, OpenAI).</summary>
public sealed record OpenAiHttpOptions
{
    /// <summary>Base URL; "http://host:8000" and "http://host:8000/v1" both work (a bare host gets /v1).</summary>
    public required Uri BaseUrl { get; init; }
    public string? ApiKey { get; init; }
    /// <summary>The "model" field of requests.</summary>
    public string Model { get; init; } = "default";
    public EndpointMode Mode { get; init; } = EndpointMode.Chat;
    /// <summary>Renders the prompt in completions mode (the model's template; "base" for base models).</summary>
    public IChatTemplate? ChatTemplate { get; init; }
    public int Concurrency { get; init; } = 4;
    public int MaxRetries { get; init; } = 5;
    /// <summary>First backoff delay; doubles with jitter; a Retry-After header wins.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Timeout of one attempt (long prompts take minutes to prefill).</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromMinutes(10);
    public int Seed { get; init; } = 0;

    internal Uri NormalizedBase()
    {
        var s = BaseUrl.ToString().TrimEnd('/');
        if (BaseUrl.AbsolutePath is "/" or "") s += "/v1";
        return new Uri(s + "/");
    }
}
