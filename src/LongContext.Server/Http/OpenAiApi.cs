using System.Text.Json;
using LongContext.Formats.Tokenization;
using LongContext.Server.Scheduling;
using LongContext.Server.Tools;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LongContext.Server.Http;

/// <summary>The OpenAI-compatible routes: /v1/models, /v1/chat/completions, /v1/completions (streaming as SSE).</summary>
internal static class OpenAiApi
{
    public static void MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapGet("/models", (HttpContext ctx, ServerState s) => ctx.Response.WriteAsJsonAsync(new ModelListDto("list", [Model(s)]), OpenAiJson.Options));
        v1.MapGet("/models/{id}", (HttpContext ctx, ServerState s, string id) => Guard(ctx, () =>
        {
            CheckModel(s, id);
            return ctx.Response.WriteAsJsonAsync(Model(s), OpenAiJson.Options);
        }));
        v1.MapPost("/chat/completions", (HttpContext ctx, ServerState s) => Guard(ctx, () => ChatAsync(ctx, s)));
        v1.MapPost("/completions", (HttpContext ctx, ServerState s) => Guard(ctx, () => CompletionsAsync(ctx, s)));
    }

    static ModelDto Model(ServerState s) => new(s.Scheduler.ModelId, "model", s.StartedAt, "longcontext", s.Scheduler.MaxContext);

    /// <summary>Refusals become OpenAI errors, anything else a generic 500 (logged); a client that went away gets nothing.</summary>
    static async Task Guard(HttpContext ctx, Func<Task> handler)
    {
        try
        {
            await handler();
        }
        catch (RequestRejectedException e) when (!ctx.Response.HasStarted)
        {
            await OpenAiErrors.WriteAsync(ctx, e);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            await OpenAiErrors.WriteInternalAsync(ctx, e);
        }
    }

    static async Task ChatAsync(HttpContext ctx, ServerState s)
    {
        var body = await RequestBody.ReadJsonAsync<ChatCompletionRequest>(ctx, s.Options);
        CheckCommon(s, body);
        Unsupported(body.Logprobs == true, "logprobs", "logprobs are not supported");
        Unsupported(SmallInteger(body.TopLogprobs, "top_logprobs", 20) > 0, "top_logprobs", "top_logprobs are not supported");
        if (body.Messages is null) throw new RequestRejectedException(RejectionKind.InvalidRequest, "messages is required", "messages");
        var tools = ToolRequest.FromOpenAi(body.Tools, body.ToolChoice);
        var ids = s.Scheduler.Prompts.EncodeChat(Messages(body.Messages), tools?.Tools);
        // Calls are parsed back out of the answer when the template names a format this server knows.
        var format = tools is { ParseCalls: true } ? s.Scheduler.Prompts.ToolCallFormat : null;
        var handle = Submit(ctx, s, body, ids, body.MaxCompletionTokens ?? body.MaxTokens);
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string model = s.Scheduler.ModelId;
        var ct = ctx.RequestAborted;
        if (!body.Stream)
        {
            var output = await handle.ReadToEndAsync(ct);
            var parse = format?.Parse(output.Text) ?? new ToolCallParse(output.Text, []);
            var message = parse.Calls.Count > 0 ? new AssistantMessageDto("assistant", parse.Content, parse.Calls.Select(ToolCallDto).ToList())
                : new AssistantMessageDto("assistant", output.Text);
            await ctx.Response.WriteAsJsonAsync(new ChatCompletionDto(id, "chat.completion", created, model,
                [new ChatChoiceDto(0, message, Finish(output.Summary, parse))], Usage(output.Summary)), OpenAiJson.Options, ct);
            return;
        }
        ChatCompletionChunkDto Chunk(DeltaDto delta, string? finish) => new(id, "chat.completion.chunk", created, model, [new ChatChunkChoiceDto(0, delta, finish)], null);
        var calls = format is null ? null : new ToolCallStream(format);
        await StreamAsync(ctx, handle, body.StreamOptions?.IncludeUsage == true,
            first: Chunk(new DeltaDto("assistant", ""), null),
            piece: text => (calls is null ? text : calls.Push(text)) is { Length: > 0 } content ? Chunk(new DeltaDto(null, content), null) : null,
            last: summary =>
            {
                var parse = calls?.Finish() ?? new ToolCallParse(null, []);
                var end = new List<ChatCompletionChunkDto>();
                if (parse.Content is { Length: > 0 } rest) end.Add(Chunk(new DeltaDto(null, rest), null));
                if (parse.Calls.Count > 0)
                    end.Add(Chunk(new DeltaDto(null, null, parse.Calls.Select((c, i) => new ToolCallDeltaDto(i, c.Id, "function", new FunctionCallDto(c.Name, c.Arguments))).ToList()), null));
                end.Add(Chunk(new DeltaDto(null, null), Finish(summary, parse)));
                return end;
            },
            usage: summary => new ChatCompletionChunkDto(id, "chat.completion.chunk", created, model, [], Usage(summary)));
    }

    /// <summary>Each message as the template reads it (tool_calls' argument strings parsed into objects); a malformed one is a 400 naming it.</summary>
    static List<ChatMessage> Messages(List<JsonElement> messages) => messages.Select((m, i) =>
    {
        try
        {
            return ChatConversation.ReadMessage(m, "the request", $"messages[{i}]");
        }
        catch (ConfigException e)
        {
            throw new RequestRejectedException(RejectionKind.InvalidRequest, e.Message, $"messages[{i}]");
        }
    }).ToList();

    static ToolCallDto ToolCallDto(ParsedToolCall c) => new(c.Id, "function", new FunctionCallDto(c.Name, c.Arguments));

    /// <summary>"tool_calls" when the answer called tools (as OpenAI reports it), else the generation's own reason.</summary>
    static string Finish(GenerationSummary summary, ToolCallParse parse) => parse.Calls.Count > 0 ? "tool_calls" : summary.FinishReasonText;

    static async Task CompletionsAsync(HttpContext ctx, ServerState s)
    {
        var body = await RequestBody.ReadJsonAsync<CompletionRequest>(ctx, s.Options);
        CheckCommon(s, body);
        Unsupported(SmallInteger(body.Logprobs, "logprobs", 5) > 0, "logprobs", "logprobs are not supported");
        Unsupported(body.Echo == true, "echo", "echo is not supported");
        Unsupported(!string.IsNullOrEmpty(body.Suffix), "suffix", "suffix (insertion) is not supported");
        var ids = PromptIds(s.Scheduler.Prompts, body.Prompt);
        var handle = Submit(ctx, s, body, ids, body.MaxTokens);
        string id = "cmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string model = s.Scheduler.ModelId;
        if (!body.Stream)
        {
            var output = await handle.ReadToEndAsync(ctx.RequestAborted);
            await ctx.Response.WriteAsJsonAsync(new CompletionDto(id, "text_completion", created, model,
                [new CompletionChoiceDto(0, output.Text, output.Summary.FinishReasonText)], Usage(output.Summary)), OpenAiJson.Options, ctx.RequestAborted);
            return;
        }
        CompletionDto Chunk(string text, string? finish) => new(id, "text_completion", created, model, [new CompletionChoiceDto(0, text, finish)], null);
        await StreamAsync(ctx, handle, body.StreamOptions?.IncludeUsage == true,
            first: null,
            piece: text => Chunk(text, null),
            last: summary => [Chunk("", summary.FinishReasonText)],
            usage: summary => new CompletionDto(id, "text_completion", created, model, [], Usage(summary)));
    }

    /// <summary>
    /// SSE: one `data: {json}` event per text piece (none where <paramref name="piece"/> gives null), the final events
    /// (tool calls, finish_reason), usage if asked, then [DONE]; a failure becomes an error event before [DONE].
    /// </summary>
    static async Task StreamAsync<T>(HttpContext ctx, GenerationHandle handle, bool includeUsage, T? first, Func<string, T?> piece,
        Func<GenerationSummary, IEnumerable<T>> last, Func<GenerationSummary, T> usage) where T : class
    {
        var ct = ctx.RequestAborted;
        ctx.Response.ContentType = "text/event-stream; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        await ctx.Response.StartAsync(ct);
        if (first is not null) await SendAsync(ctx, first, ct);
        try
        {
            await foreach (var text in handle.ReadTextAsync(ct))
                if (piece(text) is T payload) await SendAsync(ctx, payload, ct);
            var summary = await handle.Completion.WaitAsync(ct);
            foreach (var payload in last(summary)) await SendAsync(ctx, payload, ct);
            if (includeUsage) await SendAsync(ctx, usage(summary), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            await SendAsync(ctx, OpenAiErrors.StreamError(ctx, e), ct);
        }
        await ctx.Response.WriteAsync("data: [DONE]\n\n", ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    static async Task SendAsync<T>(HttpContext ctx, T payload, CancellationToken ct)
    {
        await ctx.Response.WriteAsync("data: " + JsonSerializer.Serialize(payload, OpenAiJson.Options) + "\n\n", ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    static UsageDto Usage(GenerationSummary s) => new(s.PromptTokens, s.CompletionTokens, s.TotalTokens, new PromptTokensDetailsDto(s.CachedPromptTokens));

    static void CheckModel(ServerState s, string? model)
    {
        if (model is not null && model != s.Scheduler.ModelId)
            throw new RequestRejectedException(RejectionKind.ModelNotFound, $"the model '{model}' does not exist; this server serves '{s.Scheduler.ModelId}'", "model");
    }

    /// <summary>The model name and the options neither endpoint supports.</summary>
    static void CheckCommon(ServerState s, SamplingRequest body)
    {
        CheckModel(s, body.Model);
        Unsupported(body.N is > 1, "n", "n > 1 is not supported; send one request per completion");
        Unsupported(body.PresencePenalty is not (null or 0) || body.FrequencyPenalty is not (null or 0), "presence_penalty", "presence/frequency penalties are not supported");
    }

    static GenerationHandle Submit(HttpContext ctx, ServerState s, SamplingRequest body, IReadOnlyList<int> ids, int? maxTokens) =>
        s.Scheduler.Submit(new GenerationRequest
        {
            PromptIds = ids,
            MaxTokens = maxTokens,
            Temperature = body.Temperature,
            TopP = body.TopP,
            TopK = body.TopK,
            Seed = body.Seed,
            Stop = Stops(body.Stop),
        }, ctx.RequestAborted);

    /// <summary>An optional integer field with OpenAI's range [0, max]; anything else (a string, 1e30, -1) is a 400 naming it.</summary>
    static int SmallInteger(JsonElement? value, string param, int max) => value switch
    {
        null or { ValueKind: JsonValueKind.Null } => 0,
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt32(out int n) && n >= 0 && n <= max => n,
        _ => throw new RequestRejectedException(RejectionKind.InvalidRequest, $"{param} must be an integer from 0 to {max} (got {Shown(value.Value)})", param),
    };

    /// <summary>A value as the client sent it, cut short (error messages never echo a whole hostile payload).</summary>
    static string Shown(JsonElement value)
    {
        var raw = value.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }

    static void Unsupported(bool condition, string param, string message)
    {
        if (condition) throw new RequestRejectedException(RejectionKind.Unsupported, message, param);
    }

    static IReadOnlyList<string> Stops(JsonElement? stop) => stop switch
    {
        null => [],
        { ValueKind: JsonValueKind.Null } => [],
        { ValueKind: JsonValueKind.String } s => [s.GetString()!],
        { ValueKind: JsonValueKind.Array } a when a.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) => a.EnumerateArray().Select(x => x.GetString()!).ToArray(),
        _ => throw new RequestRejectedException(RejectionKind.InvalidRequest, "stop must be a string or an array of strings", "stop"),
    };

    /// <summary>prompt: a string, a one-string array, or an array of token ids. The tokenizer adds BOS as for any raw prompt.</summary>
    static IReadOnlyList<int> PromptIds(PromptEncoder prompts, JsonElement? prompt)
    {
        switch (prompt)
        {
            case { ValueKind: JsonValueKind.String } s:
                return prompts.EncodeText(s.GetString()!);
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() == 1 && a[0].ValueKind == JsonValueKind.String:
                return prompts.EncodeText(a[0].GetString()!);
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 && a.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number):
                return a.EnumerateArray().Select(x => x.TryGetInt32(out var v) ? v
                    : throw new RequestRejectedException(RejectionKind.InvalidRequest, "prompt token ids must be integers", "prompt")).ToArray();
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 1:
                throw new RequestRejectedException(RejectionKind.Unsupported, "batched prompts are not supported; send one prompt per request", "prompt");
            case null or { ValueKind: JsonValueKind.Null }:
                throw new RequestRejectedException(RejectionKind.InvalidRequest, "prompt is required", "prompt");
            default:
                throw new RequestRejectedException(RejectionKind.InvalidRequest, "prompt must be a string, an array with one string, or an array of token ids", "prompt");
        }
    }
}
