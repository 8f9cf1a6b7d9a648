using LongContext.Formats.Tokenization;

namespace LongContext.Server.Scheduling;

/// <summary>Chat messages → prompt ids through the model's own chat template (with the assistant generation prompt).</summary>
public static class ChatPrompt
{
    static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static IReadOnlyList<int> Encode(HfTokenizer tokenizer, IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0) throw new RequestRejectedException(RejectionKind.InvalidRequest, "messages must contain at least one message", "messages");
        for (int i = 0; i < messages.Count; i++)
            if (!Roles.Contains(messages[i].Role))
                throw new RequestRejectedException(RejectionKind.InvalidRequest,
                    $"messages[{i}].role '{messages[i].Role}' is not one of {string.Join(", ", Roles)}", $"messages[{i}].role");
        if (tokenizer.ChatTemplate is null)
            throw new RequestRejectedException(RejectionKind.Unsupported,
                "this model has no chat template (tokenizer_config.json chat_template or chat_template.jinja); use /v1/completions with a raw prompt", "messages");
        try
        {
            return tokenizer.EncodeChat(messages, addGenerationPrompt: true);
        }
        catch (LongContextException e) when (e is not RequestRejectedException)
        {
            // The template itself refused the conversation (raise_exception), e.g. roles out of order.
            throw new RequestRejectedException(RejectionKind.InvalidRequest, $"the model's chat template rejected the messages: {e.Message}", "messages");
        }
    }
}
