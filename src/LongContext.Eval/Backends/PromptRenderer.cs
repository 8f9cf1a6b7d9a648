using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>
/// The one place a <see cref="GenerationRequest"/> becomes what the model receives, for every backend, the length
/// fitting and --dump: so the counted, dumped and sent prompts are the same text.
/// </summary>
public static class PromptRenderer
{
    /// <summary>
    /// The text a completions endpoint or the in-process engine receives (RULER's open-model path): each few-shot turn
    /// rendered as its own user turn with the generation prompt, followed by its answer and "\n" (RULER's
    /// <c>model_template.format(example) + answer + "\n"</c>), then the request's turns, then the answer prefix.
    /// </summary>
    public static string Render(IChatTemplate template, GenerationRequest req)
    {
        req.Validate();
        var shots = string.Concat(req.Shots.Select(s => template.Render([new ChatMessage("user", s.User)], addGenerationPrompt: true) + s.Assistant + "\n"));
        return shots + (req.Prompt ?? template.Render(req.Messages!, addGenerationPrompt: true)) + req.AnswerPrefix;
    }

    /// <summary>
    /// The messages sent to a /chat/completions endpoint (RULER's API-model path, template "base"): few-shot turns are
    /// written into the last user message as plain text, and the answer prefix goes at its end.
    /// </summary>
    public static IReadOnlyList<ChatMessage> ChatMessages(GenerationRequest req)
    {
        req.Validate();
        var msgs = (req.Messages ?? [new ChatMessage("user", req.Prompt!)]).ToList();
        var last = msgs.FindLastIndex(m => m.Role == "user");
        if (last < 0) throw new ArgumentException("GenerationRequest has no user message.");
        var shots = string.Concat(req.Shots.Select(s => s.User + s.Assistant + "\n"));
        msgs[last] = msgs[last] with { Content = shots + msgs[last].Content + (last == msgs.Count - 1 ? req.AnswerPrefix : "") };
        if (last != msgs.Count - 1 && req.AnswerPrefix.Length > 0) throw new ArgumentException("An answer prefix needs the user message last.");
        return msgs;
    }
}
