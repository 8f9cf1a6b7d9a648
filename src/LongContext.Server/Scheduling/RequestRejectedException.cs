
namespace LongContext.Server.Scheduling;

/// <summary>Why a request was refused before or instead of generating; the HTTP layer maps each to a status code.</summary>
public enum RejectionKind
{
    /// <summary>A malformed or out-of-range parameter (HTTP 400).</summary>
    InvalidRequest,
    /// <summary>Prompt (plus max_tokens) does not fit the context (HTTP 400, code context_length_exceeded).</summary>
    ContextLengthExceeded,
    /// <summary>A parameter this server does not implement, such as n &gt; 1 or tools (HTTP 400).</summary>
    Unsupported,
    /// <summary>The request names a model this server does not serve (HTTP 404).</summary>
    ModelNotFound,
    /// <summary>The request body did not arrive in time (HTTP 408).</summary>
    RequestTimeout,
    /// <summary>The bounded queue, or the bound on prompts being tokenized at once, is full (HTTP 429).</summary>
    QueueFull,
    /// <summary>The scheduler is stopping (HTTP 503).</summary>
    ShuttingDown,
}

/// <summary>A request the scheduler or the API layer refuses; the message says what to change.</summary>
public sealed class RequestRejectedException(RejectionKind kind, string message, string? param = null) : LongContextException(message)
{
    public RejectionKind Kind { get; } = kind;
    /// <summary>The request field at fault (OpenAI's error.param), when there is one.</summary>
    public string? Param { get; } = param;
}
