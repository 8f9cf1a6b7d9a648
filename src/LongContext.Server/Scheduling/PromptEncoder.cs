using LongContext.Formats.Tokenization;
using System.Text.Json;
using LongContext.Server.Tools;

namespace LongContext.Server.Scheduling;

/// <summary>
/// Prompts → ids for the scheduler, behind the <see cref="PromptLengthGuard"/> (byte bound, then a tokenization slot
/// for large texts): raw text as a completions prompt (BOS added as the tokenizer's post-processor does), or chat
/// messages through the model's own chat template with the assistant generation prompt (and, when given, tools).
/// </summary>
public sealed class PromptEncoder(HfTokenizer tokenizer, PromptLengthGuard guard)
{
    static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];
    readonly Lazy<ToolCallFormat?> toolCallFormat = new(() => ToolCallFormat.Detect(tokenizer.ChatTemplate?.Source));

    public PromptLengthGuard Guard => guard;

    /// <summary>How this model's template has it write tool calls (parsed back into tool_calls), or null: calls stay text.</summary>
    public ToolCallFormat? ToolCallFormat => toolCallFormat.Value;

    public IReadOnlyList<int> EncodeText(string text, string param = "prompt")
    {
        guard.CheckBytes(text, param);
        return guard.Tokenize(text, () => tokenizer.Encode(text));
    }

    public IReadOnlyList<int> EncodeChat(IReadOnlyList<ChatMessage> messages) =>
        EncodeChat(messages.Select(m => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList());

    /// <summary>
    /// Messages as the template sees them: role, content and, where present, tool_calls (arguments as objects),
    /// tool_call_id and name. <paramref name="tools"/> becomes the template's `tools` (OpenAI's function schemas).
    /// </summary>
    public IReadOnlyList<int> EncodeChat(IReadOnlyList<IReadOnlyDictionary<string, object?>> messages, IReadOnlyList<JsonElement>? tools = null)
    {
        if (messages.Count == 0) throw new RequestRejectedException(RejectionKind.InvalidRequest, "messages must contain at least one message", "messages");
        for (int i = 0; i < messages.Count; i++)
            if (messages[i].GetValueOrDefault("role") is not string role || !Roles.Contains(role))
                throw new RequestRejectedException(RejectionKind.InvalidRequest,
                    $"messages[{i}].role '{messages[i].GetValueOrDefault("role")}' is not one of {string.Join(", ", Roles)}", $"messages[{i}].role");
        if (tokenizer.ChatTemplate is null)
            throw new RequestRejectedException(RejectionKind.Unsupported,
                "this model has no chat template (tokenizer_config.json chat_template or chat_template.jinja); use /v1/completions with a raw prompt", "messages");
        string text;
        try
        {
            var variables = tools is { Count: > 0 } ? new Dictionary<string, object?> { ["tools"] = tools.ToList() } : null;
            text = tokenizer.ApplyChatTemplate(messages.Cast<object?>().ToList(), addGenerationPrompt: true, variables);
        }
        catch (LongContextException e) when (e is not RequestRejectedException)
        {
            // The template itself refused the conversation (raise_exception), e.g. roles out of order.
            throw new RequestRejectedException(RejectionKind.InvalidRequest, $"the model's chat template rejected the messages: {e.Message}", "messages");
        }
        guard.CheckBytes(text, "messages");
        // The template writes BOS itself (transformers encodes its output without special tokens).
        return guard.Tokenize(text, () => tokenizer.Encode(text, addSpecialTokens: false));
    }
}
