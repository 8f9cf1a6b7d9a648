using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>
/// Counts a prompt's tokens as the evaluated model will see it: the model's tokenizer over the chat-template rendering,
/// with the answer prefix where the backend puts it. RULER's budget check is Count + max_new_tokens &lt;= length.
/// </summary>
public sealed class PromptMeasurer(ITextTokenizer tokenizer, IChatTemplate template, PrefixPlacement placement)
{
    public ITextTokenizer Tokenizer => tokenizer;
    public IChatTemplate Template => template;
    public PrefixPlacement Placement => placement;

    public string Render(string userContent, string answerPrefix) => placement == PrefixPlacement.AssistantTurn
        ? template.Render([new ChatMessage("user", userContent)], true) + answerPrefix
        : template.Render([new ChatMessage("user", userContent + answerPrefix)], true);

    public int Count(string userContent, string answerPrefix) => tokenizer.Encode(Render(userContent, answerPrefix), addSpecialTokens: false).Count;
}
