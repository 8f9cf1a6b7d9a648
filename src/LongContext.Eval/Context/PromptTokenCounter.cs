using System.Text;
using LongContext.Eval.Backends;
using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Context;

/// <summary>
/// Counts tokens the way the answering model will see them. Exact: the model's tokenizer over its chat template's
/// rendering of one user message (without a template: the bare text with the tokenizer's special tokens, e.g. BOS).
/// Estimated (no tokenizer): one token per <see cref="EstimateBytesPerToken"/> UTF-8 bytes plus
/// <see cref="EstimatedTemplateTokens"/> for the server's template — deliberately high, so the prompt fits.
/// </summary>
public sealed class PromptTokenCounter
{
    /// <summary>UTF-8 bytes per token assumed without a tokenizer (real tokenizers average 3–4.5 on code and prose).</summary>
    public const double EstimateBytesPerToken = 2.5;
    public const int EstimatedTemplateTokens = 32;

    private readonly ITextTokenizer? _tokenizer;
    private readonly IChatTemplate? _template;

    private readonly int _allowance;

    private PromptTokenCounter(ITextTokenizer? tokenizer, IChatTemplate? template, string describe, int allowance = 0)
    {
        _tokenizer = tokenizer;
        _template = template;
        _allowance = allowance;
        Describe = describe;
    }

    /// <summary>
    /// Counts with the tokenizer; <paramref name="template"/> null means no chat template (base model). When a server
    /// applies a template we cannot see (<paramref name="serverAppliesTemplate"/> without a template), each prompt count
    /// adds <see cref="EstimatedTemplateTokens"/>.
    /// </summary>
    public static PromptTokenCounter Exact(ITextTokenizer tokenizer, IChatTemplate? template, string tokenizerName, bool serverAppliesTemplate = false) =>
        template is null && serverAppliesTemplate
            ? new(tokenizer, null, $"{tokenizerName} (no chat template here: +{EstimatedTemplateTokens} tokens allowed for the server's)", EstimatedTemplateTokens)
            : new(tokenizer, template, $"{tokenizerName} (template: {template?.Name ?? "none"})");

    /// <summary>Counts with a HF tokenizer and its own chat template (none: bare text with BOS).</summary>
    public static PromptTokenCounter FromHfTokenizer(HfTokenizer tokenizer, string tokenizerName, bool serverAppliesTemplate = false) =>
        Exact(tokenizer, tokenizer.ChatTemplate is null ? null : new DelegateChatTemplate("model", (m, g) => tokenizer.ApplyChatTemplate(m, g)), tokenizerName, serverAppliesTemplate);

    public static PromptTokenCounter Estimate() =>
        new(null, null, $"estimate: 1 token per {EstimateBytesPerToken} UTF-8 bytes + {EstimatedTemplateTokens} for the template (give --tokenizer DIR for exact counts)");

    /// <summary>True when the count is the tokenizer over the very text the model sees (no estimate, no allowance).</summary>
    public bool IsExact => _tokenizer is not null && _allowance == 0;
    public string Describe { get; }
    public ITextTokenizer? Tokenizer => _tokenizer;

    /// <summary>Tokens of a piece of the user message (no special tokens).</summary>
    public int CountFragment(string text) => _tokenizer is null
        ? (int)Math.Ceiling(Encoding.UTF8.GetByteCount(text) / EstimateBytesPerToken)
        : _tokenizer.Encode(text, addSpecialTokens: false).Count;

    /// <summary>The text the model sees for a user message (chat template with the generation prompt, or the bare message).</summary>
    public string Render(string userMessage) => _template is null ? userMessage : _template.Render([new ChatMessage("user", userMessage)], addGenerationPrompt: true);

    /// <summary>Token ids of the whole prompt (exact counters only).</summary>
    public IReadOnlyList<int> EncodePrompt(string userMessage)
    {
        if (_tokenizer is null) throw new InvalidOperationException("an estimating counter has no tokenizer");
        return _tokenizer.Encode(Render(userMessage), addSpecialTokens: _template is null);
    }

    /// <summary>Tokens of the whole prompt for a user message.</summary>
    public int CountPrompt(string userMessage) => _tokenizer is null
        ? CountFragment(userMessage) + EstimatedTemplateTokens
        : EncodePrompt(userMessage).Count + _allowance;
}
