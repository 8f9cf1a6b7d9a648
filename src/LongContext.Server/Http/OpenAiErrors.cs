using LongContext.Server.Scheduling;
using Microsoft.AspNetCore.Http;

namespace LongContext.Server.Http;

/// <summary>Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with a matching status code.</summary>
internal static class OpenAiErrors
{
    public static Task WriteAsync(HttpContext ctx, int status, string message, string type, string? param = null, string? code = null)
    {
        ctx.Response.StatusCode = status;
        if (status == StatusCodes.Status429TooManyRequests || status == StatusCodes.Status503ServiceUnavailable)
            ctx.Response.Headers.RetryAfter = "1";
        return ctx.Response.WriteAsJsonAsync(new ErrorDto(new ErrorBodyDto(message, type, param, code)), OpenAiJson.Options);
    }

    public static (int Status, string Type, string? Code) Classify(RejectionKind kind) => kind switch
    {
        RejectionKind.InvalidRequest => (400, "invalid_request_error", null),
        RejectionKind.ContextLengthExceeded => (400, "invalid_request_error", "context_length_exceeded"),
        RejectionKind.Unsupported => (400, "invalid_request_error", "unsupported_parameter"),
        RejectionKind.ModelNotFound => (404, "invalid_request_error", "model_not_found"),
        RejectionKind.QueueFull => (429, "server_busy", "queue_full"),
        RejectionKind.ShuttingDown => (503, "server_error", "shutting_down"),
        _ => (500, "server_error", null),
    };

    public static Task WriteAsync(HttpContext ctx, RequestRejectedException e)
    {
        var (status, type, code) = Classify(e.Kind);
        return WriteAsync(ctx, status, e.Message, type, e.Param, code);
    }

    /// <summary>The error object as an SSE payload, for failures after a stream has started.</summary>
    public static ErrorDto Body(string message, string type, string? param = null, string? code = null) => new(new ErrorBodyDto(message, type, param, code));
}
