using System.Text.Json;

namespace LongContext.Server.Http;

// OpenAI wire shapes (snake_case through OpenAiJson.Options). Requests keep loosely typed fields (stop, content,
// prompt) as JsonElement because the API accepts several forms for them.

/// <summary>The fields chat and text completions share: model, sampling, stop, streaming.</summary>
internal abstract class SamplingRequest
{
    public string? Model { get; set; }
    public int? MaxTokens { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? TopK { get; set; }
    public long? Seed { get; set; }
    public JsonElement? Stop { get; set; }
    public bool Stream { get; set; }
    public StreamOptionsDto? StreamOptions { get; set; }
    public int? N { get; set; }
    public double? PresencePenalty { get; set; }
    public double? FrequencyPenalty { get; set; }
}

internal sealed class ChatCompletionRequest : SamplingRequest
{
    /// <summary>OpenAI messages, read by Formats' ChatConversation (content parts, tool_calls, tool_call_id, name, other keys).</summary>
    public List<JsonElement>? Messages { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public bool? Logprobs { get; set; }
    public JsonElement? TopLogprobs { get; set; }
    public JsonElement? Tools { get; set; }
    public JsonElement? ToolChoice { get; set; }
    /// <summary>Accepted and ignored: a model may make several calls in one answer either way.</summary>
    public bool? ParallelToolCalls { get; set; }
}

internal sealed class CompletionRequest : SamplingRequest
{
    public JsonElement? Prompt { get; set; }
    public JsonElement? Logprobs { get; set; }
    public bool? Echo { get; set; }
    public string? Suffix { get; set; }
}

internal sealed class StreamOptionsDto
{
    public bool IncludeUsage { get; set; }
}

internal sealed record UsageDto(int PromptTokens, int CompletionTokens, int TotalTokens, PromptTokensDetailsDto PromptTokensDetails);
internal sealed record PromptTokensDetailsDto(int CachedTokens);

internal sealed record AssistantMessageDto(string Role,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Content,
    IReadOnlyList<ToolCallDto>? ToolCalls = null);
internal sealed record FunctionCallDto(string Name, string Arguments);
internal sealed record ToolCallDto(string Id, string Type, FunctionCallDto Function);
internal sealed record ToolCallDeltaDto(int Index, string Id, string Type, FunctionCallDto Function);
internal sealed record ChatChoiceDto(int Index, AssistantMessageDto Message, string FinishReason);
internal sealed record ChatCompletionDto(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoiceDto> Choices, UsageDto Usage);

internal sealed record DeltaDto(string? Role, string? Content, IReadOnlyList<ToolCallDeltaDto>? ToolCalls = null);
internal sealed record ChatChunkChoiceDto(int Index, DeltaDto Delta, string? FinishReason);
internal sealed record ChatCompletionChunkDto(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChunkChoiceDto> Choices, UsageDto? Usage);

internal sealed record CompletionChoiceDto(int Index, string Text, string? FinishReason);
internal sealed record CompletionDto(string Id, string Object, long Created, string Model, IReadOnlyList<CompletionChoiceDto> Choices, UsageDto? Usage);

internal sealed record ModelDto(string Id, string Object, long Created, string OwnedBy, int MaxModelLen);
internal sealed record ModelListDto(string Object, IReadOnlyList<ModelDto> Data);

internal sealed record ErrorBodyDto(string Message, string Type, string? Param, string? Code);
internal sealed record ErrorDto(ErrorBodyDto Error);
