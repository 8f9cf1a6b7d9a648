using System.Text.Json;
using LongContext.Formats.Tokenization;
using LongContext.Server.Tools;

namespace LongContext.Server.Scheduling;

/// <summary>
/// Prompts → ids for the scheduler, behind the <see cref="PromptLengthGuard"/> (byte bound, then a tokenization slot
/// for large texts): raw text as a completions prompt (BOS added as the tokenizer's post-processor does), or chat
/// messages through the model's own chat template with the assistant generation prompt and, when given, tools (the
/// template's `tools`; a model's "tool_use" template is chosen then, as transformers does).
/// </summary>
public sealed class PromptEncoder(HfTokenizer tokenizer, PromptLengthGuard guard)
{
    static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];
    readonly Lazy<ToolCallFormat?> toolCallFormat = new(() =>
        tokenizer.ChatTemplate is null && tokenizer.ChatTemplates.Count == 0 ? null : ToolCallFormat.Detect(tokenizer.SelectChatTemplate(hasTools: true).Source));

    public PromptLengthGuard Guard => guard;

    /// <summary>How this model's tool template has it write calls (parsed back into tool_calls), or null: calls stay text.</summary>
    public ToolCallFormat? ToolCallFormat => toolCallFormat.Value;

    public IReadOnlyList<int> EncodeText(string text, string param = "prompt")
    {
        guard.CheckBytes(text, param);
        return guard.Tokenize(text, () => tokenizer.Encode(text));
    }

    /// <summary>Messages with their tool fields (tool_calls, tool_call_id, name); <paramref name="tools"/> as OpenAI function schemas.</summary>
    public IReadOnlyList<int> EncodeChat(IReadOnlyList<ChatMessage> messages, IReadOnlyList<JsonElement>? tools = null)
    {
        if (messages.Count == 0) throw new RequestRejectedException(RejectionKind.InvalidRequest, "messages must contain at least one message", "messages");
        for (int i = 0; i < messages.Count; i++)
            if (!Roles.Contains(messages[i].Role))
                throw new RequestRejectedException(RejectionKind.InvalidRequest,
                    $"messages[{i}].role '{messages[i].Role}' is not one of {string.Join(", ", Roles)}", $"messages[{i}].role");
        if (tokenizer.ChatTemplate is null && tokenizer.ChatTemplates.Count == 0)
            throw new RequestRejectedException(RejectionKind.Unsupported,
                "this model has no chat template (tokenizer_config.json chat_template or chat_template.jinja); use /v1/completions with a raw prompt", "messages");
        string text;
        try
        {
            text = tokenizer.ApplyChatTemplate(messages, tools is { Count: > 0 } ? tools : null, addGenerationPrompt: true);
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
