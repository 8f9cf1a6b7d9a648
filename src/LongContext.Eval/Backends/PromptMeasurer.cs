using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>
/// Counts a prompt's tokens as the evaluated model will see it: the model's tokenizer over the chat-template rendering,
/// with the answer prefix where the backend puts it (<see cref="PromptRenderer"/>). RULER's budget check is
/// Count + max_new_tokens &lt;= length. For a chat endpoint the server applies its template; it is approximated by
/// <see cref="Template"/> (the model's when known, else "base").
/// </summary>
public sealed class PromptMeasurer(ITextTokenizer tokenizer, IChatTemplate template, PrefixPlacement placement)
{
    public ITextTokenizer Tokenizer => tokenizer;
    public IChatTemplate Template => template;
    public PrefixPlacement Placement => placement;

    /// <summary>The exact text the model sees (for a chat endpoint: its messages rendered with <see cref="Template"/>).</summary>
    public string Render(GenerationRequest req) => placement == PrefixPlacement.AssistantTurn
        ? PromptRenderer.Render(template, req)
        : template.Render(PromptRenderer.ChatMessages(req), addGenerationPrompt: true);

    public string Render(string userContent, string answerPrefix) => Render(GenerationRequest.FromUser(userContent, answerPrefix, 1));

    public int Count(GenerationRequest req) => tokenizer.Encode(Render(req), addSpecialTokens: false).Count;

    public int Count(string userContent, string answerPrefix) => Count(GenerationRequest.FromUser(userContent, answerPrefix, 1));
}
