using System.Runtime.CompilerServices;
using LongContext.Core.Inference;
using LongContext.Server.Scheduling;
using Microsoft.Extensions.AI;
using CoreChatMessage = LongContext.Formats.Tokenization.ChatMessage;

namespace LongContext.Server.AI;

/// <summary>
/// <see cref="IChatClient"/> over the in-process engine: messages go through the model's chat template and into the
/// same <see cref="GenerationScheduler"/> the HTTP server uses (one queue, one engine thread, shared prefix cache).
/// Does not own the scheduler.
/// </summary>
public sealed class LongContextChatClient(GenerationScheduler scheduler) : IChatClient
{
    readonly ChatClientMetadata metadata = new("longcontext", null, scheduler.ModelId);

    public GenerationScheduler Scheduler => scheduler;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var handle = Submit(messages, options, cancellationToken);
        var output = await handle.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, output.Text))
        {
            ResponseId = NewId(),
            ModelId = scheduler.ModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = Finish(output.Summary),
            Usage = Usage(output.Summary),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var handle = Submit(messages, options, cancellationToken);
        string id = NewId();
        var created = DateTimeOffset.UtcNow;
        await foreach (var piece in handle.ReadTextAsync(cancellationToken).ConfigureAwait(false))
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ResponseId = id, MessageId = id, ModelId = scheduler.ModelId, CreatedAt = created };
        var summary = await handle.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(summary))])
        {
            ResponseId = id,
            MessageId = id,
            ModelId = scheduler.ModelId,
            CreatedAt = created,
            FinishReason = Finish(summary),
        };
    }

    /// <summary>ChatOptions → a scheduler request: MaxOutputTokens, Temperature, TopP, TopK, Seed, StopSequences.</summary>
    GenerationHandle Submit(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (options?.ModelId is string model && model != scheduler.ModelId)
            throw new RequestRejectedException(RejectionKind.ModelNotFound, $"the model '{model}' is not loaded; this client serves '{scheduler.ModelId}'", "ModelId");
        if (options?.Tools is { Count: > 0 })
            throw new RequestRejectedException(RejectionKind.Unsupported, "tools / function calling are not supported", "Tools");
        var turns = new List<CoreChatMessage>();
        if (options?.Instructions is string instructions) turns.Add(new CoreChatMessage("system", instructions));
        turns.AddRange(messages.Select(m => new CoreChatMessage(m.Role.Value, m.Text)));
        var ids = scheduler.Prompts.EncodeChat(turns);
        return scheduler.Submit(new GenerationRequest
        {
            PromptIds = ids,
            MaxTokens = options?.MaxOutputTokens,
            Temperature = options?.Temperature,
            TopP = options?.TopP,
            TopK = options?.TopK,
            Seed = options?.Seed,
            Stop = options?.StopSequences?.ToArray() ?? [],
        }, ct);
    }

    static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");

    static ChatFinishReason Finish(GenerationSummary s) => s.FinishReason == FinishReason.Stop ? ChatFinishReason.Stop : ChatFinishReason.Length;

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
