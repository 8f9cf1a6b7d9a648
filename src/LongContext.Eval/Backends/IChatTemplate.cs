using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>Renders chat turns to the model's prompt text (HF apply_chat_template, tokenize=False).</summary>
public interface IChatTemplate
{
    string Name { get; }
    string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt);
}

/// <summary>Wraps a delegate, so a Jinja implementation can be plugged in later.</summary>
public sealed class DelegateChatTemplate(string name, Func<IReadOnlyList<ChatMessage>, bool, string> render) : IChatTemplate
{
    public string Name => name;
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) => render(messages, addGenerationPrompt);
}

/// <summary>
/// Built-in templates, from RULER's scripts/data/template.py (Apache-2.0, NVIDIA/RULER): "base" is the bare task text
/// (contents joined by blank lines), "llama3" the Llama-3 instruct format, "meta-chat" Llama-2's [INST] form.
/// </summary>
public static class ChatTemplates
{
    public static IChatTemplate Base { get; } = new DelegateChatTemplate("base",
        (m, _) => string.Join("\n\n", m.Select(x => x.Content)));

    public static IChatTemplate Llama3 { get; } = new DelegateChatTemplate("llama3", (m, gen) =>
    {
        var sb = new System.Text.StringBuilder("<|begin_of_text|>");
        foreach (var x in m) sb.Append("<|start_header_id|>").Append(x.Role).Append("<|end_header_id|>\n\n").Append(x.Content).Append("<|eot_id|>");
        if (gen) sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        return sb.ToString();
    });

    public static IChatTemplate MetaChat { get; } = new DelegateChatTemplate("meta-chat",
        (m, _) => "[INST] " + string.Join("\n\n", m.Select(x => x.Content)) + " [/INST]");

    public static IChatTemplate ByName(string name) => name.ToLowerInvariant() switch
    {
        "base" => Base,
        "llama3" or "meta-llama3" => Llama3,
        "meta-chat" or "llama2" => MetaChat,
        _ => throw new EvalException($"--chat-template '{name}' is not built in; use base, llama3 or meta-chat, or give --tokenizer DIR whose tokenizer_config.json carries the model's template."),
    };
}
