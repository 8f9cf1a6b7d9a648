using System.Text;
using System.Text.Json;
using LongContext.Server.Scheduling;
using Microsoft.AspNetCore.Http;

namespace LongContext.Server.Http;

/// <summary>
/// A request body read whole, then parsed: at most <see cref="ServerOptions.MaxRequestBodyBytes"/>, within
/// <see cref="ServerOptions.RequestBodyTimeout"/> (a stalled or trickling body gets 408), valid UTF-8, then JSON for the
/// endpoint's contract. Every failure is a refusal naming the problem (400/408), never a 500.
/// </summary>
internal static class RequestBody
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static async Task<T> ReadJsonAsync<T>(HttpContext ctx, ServerOptions options) where T : class
    {
        var bytes = await ReadBytesAsync(ctx, options);
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw NotUtf8(bytes);
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, OpenAiJson.Options)
                ?? throw new RequestRejectedException(RejectionKind.InvalidRequest, "the request body is JSON null; send an object");
        }
        catch (JsonException e)
        {
            string where = e.Path is { Length: > 1 } p ? $" at {p}" : "";
            throw new RequestRejectedException(RejectionKind.InvalidRequest, $"the request body is not valid JSON for this endpoint{where}: {e.Message}",
                e.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : null);
        }
    }

    static async Task<byte[]> ReadBytesAsync(HttpContext ctx, ServerOptions options)
    {
        long limit = options.MaxRequestBodyBytes;
        if (ctx.Request.ContentLength is long length && length > limit) throw TooLarge(length, limit);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        deadline.CancelAfter(options.RequestBodyTimeout);
        using var buffer = new MemoryStream(ctx.Request.ContentLength is long known ? (int)known : 4096);
        try
        {
            await ctx.Request.Body.CopyToAsync(buffer, deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ctx.RequestAborted.IsCancellationRequested)
        {
            throw Timeout(options, buffer.Length);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(null, limit);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            // Kestrel's minimum data rate (240 bytes/s after a 5 s grace period) caught a body that stalled.
            throw Timeout(options, buffer.Length);
        }
        catch (BadHttpRequestException e)
        {
            throw new RequestRejectedException(RejectionKind.InvalidRequest, $"the request body could not be read: {e.Message}");
        }
        if (buffer.Length > limit) throw TooLarge(buffer.Length, limit);
        return buffer.ToArray();
    }

    static RequestRejectedException TooLarge(long? length, long limit) => new(RejectionKind.InvalidRequest,
        $"the request body{(length is long l ? $" is {l} bytes and" : "")} exceeds the server's limit of {limit} bytes (serve --max-body-mb)");

    static RequestRejectedException Timeout(ServerOptions options, long received) => new(RejectionKind.RequestTimeout,
        $"the request body did not arrive in time ({received} bytes received; the whole body must arrive within {options.RequestBodyTimeout.TotalSeconds:0.#} s, serve --body-timeout); resend it");

    static RequestRejectedException NotUtf8(byte[] bytes)
    {
        int offset;
        try
        {
            StrictUtf8.GetCharCount(bytes);
            offset = -1;
        }
        catch (DecoderFallbackException e)
        {
            offset = e.Index;
        }
        return new RequestRejectedException(RejectionKind.InvalidRequest,
            $"the request body is not valid UTF-8{(offset >= 0 ? $" (invalid byte sequence at byte {offset})" : "")}; JSON requests must be UTF-8 encoded");
    }
}
