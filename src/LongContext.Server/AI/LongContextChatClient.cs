using System.Runtime.CompilerServices;
using System.Text.Json;
using LongContext.Core.Inference;
using LongContext.Server.Scheduling;
using LongContext.Server.Tools;
using Microsoft.Extensions.AI;
using ToolCall = LongContext.Formats.Tokenization.ToolCall;
using TemplateMessage = LongContext.Formats.Tokenization.ChatMessage;

namespace LongContext.Server.AI;

/// <summary>
/// <see cref="IChatClient"/> over the in-process engine: messages go through the model's chat template and into the
/// same <see cref="GenerationScheduler"/> the HTTP server uses (one queue, one engine thread, shared prefix cache).
/// Function tools (<see cref="ChatOptions.Tools"/>, <see cref="ChatOptions.ToolMode"/>) reach the template as OpenAI
/// function schemas; calls in the answer come back as <see cref="FunctionCallContent"/> when the template names a
/// format the server parses (<see cref="ToolCallFormat"/>); FunctionCallContent/FunctionResultContent in the history
/// become tool_calls and tool turns. Does not own the scheduler.
/// </summary>
public sealed class LongContextChatClient(GenerationScheduler scheduler) : IChatClient
{
    readonly ChatClientMetadata metadata = new("longcontext", null, scheduler.ModelId);

    public GenerationScheduler Scheduler => scheduler;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (handle, format) = Submit(messages, options, cancellationToken);
        var output = await handle.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        var parse = format?.Parse(output.Text) ?? new ToolCallParse(output.Text, []);
        var contents = new List<AIContent>();
        if (parse.Calls.Count == 0) contents.Add(new TextContent(output.Text));
        else
        {
            if (parse.Content is { Length: > 0 } text) contents.Add(new TextContent(text));
            contents.AddRange(parse.Calls.Select(Call));
        }
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            ResponseId = NewId(),
            ModelId = scheduler.ModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = Finish(output.Summary, parse),
            Usage = Usage(output.Summary),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (handle, format) = Submit(messages, options, cancellationToken);
        var calls = format is null ? null : new ToolCallStream(format);
        string id = NewId();
        var created = DateTimeOffset.UtcNow;
        ChatResponseUpdate Update(IList<AIContent> contents) => new(ChatRole.Assistant, contents) { ResponseId = id, MessageId = id, ModelId = scheduler.ModelId, CreatedAt = created };
        await foreach (var piece in handle.ReadTextAsync(cancellationToken).ConfigureAwait(false))
            if ((calls is null ? piece : calls.Push(piece)) is { Length: > 0 } text)
                yield return Update([new TextContent(text)]);
        var summary = await handle.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        var parse = calls?.Finish() ?? new ToolCallParse(null, []);
        var last = new List<AIContent>();
        if (parse.Content is { Length: > 0 } rest) last.Add(new TextContent(rest));
        last.AddRange(parse.Calls.Select(Call));
        last.Add(new UsageContent(Usage(summary)));
        var final = Update(last);
        final.FinishReason = Finish(summary, parse);
        yield return final;
    }

    /// <summary>ChatOptions → a scheduler request: MaxOutputTokens, Temperature, TopP, TopK, Seed, StopSequences, Tools, ToolMode.</summary>
    (GenerationHandle Handle, ToolCallFormat? Format) Submit(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (options?.ModelId is string model && model != scheduler.ModelId)
            throw new RequestRejectedException(RejectionKind.ModelNotFound, $"the model '{model}' is not loaded; this client serves '{scheduler.ModelId}'", "ModelId");
        var tools = Tools(options);
        var turns = new List<TemplateMessage>();
        if (options?.Instructions is string instructions) turns.Add(new TemplateMessage("system", instructions));
        foreach (var m in messages) turns.AddRange(Turns(m));
        var ids = scheduler.Prompts.EncodeChat(turns, tools?.Tools);
        var handle = scheduler.Submit(new GenerationRequest
        {
            PromptIds = ids,
            MaxTokens = options?.MaxOutputTokens,
            Temperature = options?.Temperature,
            TopP = options?.TopP,
            TopK = options?.TopK,
            Seed = options?.Seed,
            Stop = options?.StopSequences?.ToArray() ?? [],
        }, ct);
        return (handle, tools is { ParseCalls: true } ? scheduler.Prompts.ToolCallFormat : null);
    }

    /// <summary>AIFunctionDeclarations as OpenAI function tools; other tool kinds (hosted search, code interpreter) are refused.</summary>
    static ToolRequest? Tools(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } declared) return null;
        var tools = new List<JsonElement>();
        foreach (var tool in declared)
        {
            if (tool is not AIFunctionDeclaration f)
                throw new RequestRejectedException(RejectionKind.Unsupported, $"tool '{tool.Name}' ({tool.GetType().Name}) is not supported; only functions (AIFunctionDeclaration) are", "Tools");
            tools.Add(JsonSerializer.SerializeToElement(new Dictionary<string, object?>
            {
                ["type"] = "function",
                ["function"] = new Dictionary<string, object?> { ["name"] = f.Name, ["description"] = f.Description, ["parameters"] = f.JsonSchema },
            }));
        }
        return options.ToolMode switch
        {
            NoneChatToolMode => null,
            RequiredChatToolMode { RequiredFunctionName: string name } => ToolRequest.Choose(tools, null, name),
            _ => ToolRequest.Choose(tools, "auto", null),
        };
    }

    /// <summary>
    /// One M.E.AI message as template turns: its text, plus tool_calls for FunctionCallContent; each
    /// FunctionResultContent becomes its own tool turn (tool_call_id, the result as text: a string as is, else JSON).
    /// </summary>
    static IEnumerable<TemplateMessage> Turns(ChatMessage m)
    {
        var results = m.Contents.OfType<FunctionResultContent>().ToList();
        foreach (var r in results)
            yield return new TemplateMessage("tool", r.Result as string ?? JsonSerializer.Serialize(r.Result)) { ToolCallId = r.CallId };
        var calls = m.Contents.OfType<FunctionCallContent>().ToList();
        if (results.Count > 0 && calls.Count == 0 && string.IsNullOrEmpty(m.Text)) yield break;
        yield return new TemplateMessage(m.Role.Value, calls.Count > 0 && string.IsNullOrEmpty(m.Text) ? null : m.Text)
        {
            ToolCalls = calls.Count == 0 ? null
                : calls.Select(c => new ToolCall(c.Name, JsonSerializer.SerializeToElement(c.Arguments ?? new Dictionary<string, object?>()), c.CallId)).ToList(),
        };
    }

    static FunctionCallContent Call(ParsedToolCall c)
    {
        Dictionary<string, object?>? arguments;
        try
        {
            arguments = JsonSerializer.Deserialize<Dictionary<string, object?>>(c.Arguments);
        }
        catch (JsonException)
        {
            arguments = null;
        }
        return new FunctionCallContent(c.Id, c.Name, arguments);
    }

    static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");

    static ChatFinishReason Finish(GenerationSummary s, ToolCallParse parse) =>
        parse.Calls.Count > 0 ? ChatFinishReason.ToolCalls : s.FinishReason == FinishReason.Stop ? ChatFinishReason.Stop : ChatFinishReason.Length;

    static UsageDetails Usage(GenerationSummary s) => new()
    {
        InputTokenCount = s.PromptTokens,
        OutputTokenCount = s.CompletionTokens,
        TotalTokenCount = s.TotalTokens,
        CachedInputTokenCount = s.CachedPromptTokens,
    };

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return metadata;
        if (serviceType.IsInstanceOfType(scheduler)) return scheduler;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
    }
}
