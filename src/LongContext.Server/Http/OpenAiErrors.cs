using LongContext.Server.Scheduling;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LongContext.Server.Http;

/// <summary>
/// Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with a matching status code. Refusals
/// (<see cref="RequestRejectedException"/>) say what to change; anything else is logged on the server with an id and
/// reaches the client only as a generic 500 naming that id — never an exception message, stack trace or path.
/// </summary>
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
        RejectionKind.RequestTimeout => (408, "invalid_request_error", "request_timeout"),
        RejectionKind.QueueFull => (429, "server_busy", "queue_full"),
        RejectionKind.ShuttingDown => (503, "server_error", "shutting_down"),
        _ => (500, "server_error", null),
    };

    public static Task WriteAsync(HttpContext ctx, RequestRejectedException e)
    {
        var (status, type, code) = Classify(e.Kind);
        return WriteAsync(ctx, status, e.Message, type, e.Param, code);
    }

    /// <summary>An unexpected failure: logged in full, answered with a generic 500 that names the log entry.</summary>
    public static Task WriteInternalAsync(HttpContext ctx, Exception e) =>
        WriteAsync(ctx, StatusCodes.Status500InternalServerError, InternalMessage(ctx, e), "server_error");

    /// <summary>The error object as an SSE payload, for failures after a stream has started.</summary>
    public static ErrorDto StreamError(HttpContext ctx, Exception e)
    {
        if (e is RequestRejectedException r)
        {
            var (_, type, code) = Classify(r.Kind);
            return new ErrorDto(new ErrorBodyDto(r.Message, type, r.Param, code));
        }
        return new ErrorDto(new ErrorBodyDto(InternalMessage(ctx, e), "server_error", null, null));
    }

    static string InternalMessage(HttpContext ctx, Exception e)
    {
        string id = ctx.TraceIdentifier;
        ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("LongContext.Server")
            .LogError(e, "request {RequestId} {Method} {Path} failed", id, ctx.Request.Method, ctx.Request.Path);
        return $"the server failed to process the request (logged as {id}); retry, or report it with that id";
    }
}
