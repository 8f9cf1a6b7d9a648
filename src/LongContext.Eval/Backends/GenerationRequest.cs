using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>
/// One generation. Either <see cref="Messages"/> (chat turns, rendered by the backend) or <see cref="Prompt"/> (a raw
/// completion prompt, sent as is: no chat template, tokenized as /v1/completions servers do, with the tokenizer's
/// special tokens such as BOS; base-model tests like passkey use it) is set. <see cref="AnswerPrefix"/> is the benchmark's answer prefix: each backend decides
/// where it goes (assistant prefill or end of the user message) and reports it in <see cref="GenerationResult.PrefixPlacement"/>.
/// </summary>
public sealed record GenerationRequest
{
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    public string? Prompt { get; init; }
    public string AnswerPrefix { get; init; } = "";
    /// <summary>Few-shot turns placed before the request, rendered as RULER renders CWE's example (see <see cref="PromptRenderer"/>).</summary>
    public IReadOnlyList<FewShotTurn> Shots { get; init; } = [];
    public int MaxNewTokens { get; init; } = 128;
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Greedy decoding (temperature 0), as RULER and NIAH use.</summary>
    public bool Greedy { get; init; } = true;

    public static GenerationRequest FromUser(string userContent, string answerPrefix, int maxNewTokens) =>
        new() { Messages = [new ChatMessage("user", userContent)], AnswerPrefix = answerPrefix, MaxNewTokens = maxNewTokens };

    internal void Validate()
    {
        if ((Messages is null) == (Prompt is null))
            throw new ArgumentException("GenerationRequest needs exactly one of Messages or Prompt.");
        if (MaxNewTokens <= 0) throw new ArgumentException("GenerationRequest.MaxNewTokens must be positive.");
    }
}

/// <summary>One solved example: the user text (task input) and the assistant's answer (answer prefix + answer).</summary>
public sealed record FewShotTurn(string User, string Assistant);

/// <summary>Where the answer prefix went.</summary>
public enum PrefixPlacement
{
    /// <summary>After the assistant header (prompt rendered with the chat template, prefix appended): RULER's standard path.</summary>
    AssistantTurn,
    /// <summary>Appended to the end of the last user message: RULER's OpenAI/Gemini path, for chat endpoints.</summary>
    UserMessageEnd,
}

/// <summary>The generated text (the continuation after the answer prefix) and what the backend knows about it.</summary>
public sealed record GenerationResult(string Text, PrefixPlacement PrefixPlacement, int? PromptTokens = null, int? CompletionTokens = null, string? FinishReason = null);
