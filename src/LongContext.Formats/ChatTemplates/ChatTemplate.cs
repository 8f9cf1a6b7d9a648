using System.Text.Json;
using LongContext.Formats.Tokenization;

namespace LongContext.Formats.ChatTemplates;

/// <summary>
/// A HF chat template: a small Jinja2 interpreter for the subset chat templates use, rendering exactly as
/// transformers' apply_chat_template (trim_blocks, lstrip_blocks, loopcontrols, tojson with ensure_ascii=False,
/// raise_exception, strftime_now). Parse errors and raise_exception throw TokenizerException with line/column.
/// Thread-safe: a parsed template can be rendered concurrently.
/// </summary>
public sealed class ChatTemplate
{
    private readonly string _source;
    private readonly List<Node> _nodes;

    private ChatTemplate(string source, List<Node> nodes)
    {
        _source = source;
        _nodes = nodes;
    }

    /// <summary>The template text as given.</summary>
    public string Source { get; private init; } = "";

    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        string normalized = JinjaLexer.NormalizeSource(source);
        return new ChatTemplate(normalized, JinjaParser.Parse(normalized)) { Source = source };
    }

    /// <summary>
    /// Renders messages (role/content, tool calls, tool results) with add_generation_prompt. extraVariables supplies
    /// bos_token, eos_token, tools, documents, date_string, ... (values: strings, numbers, bools, null, lists,
    /// dictionaries, JsonElement). tools and documents default to none, as in transformers.
    /// </summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extraVariables = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.Select(m => (object?)m.ToTemplateValue()).ToList();
        return RenderWith(list, addGenerationPrompt, extraVariables);
    }

    /// <summary>
    /// transformers' apply_chat_template(messages, tools=tools, add_generation_prompt=..., **kwargs): tools are
    /// JSON schemas (OpenAI's `{"type": "function", "function": {...}}`; null = none), kwargs are the template
    /// variables (enable_thinking, date_string, bos_token, any other key).
    /// </summary>
    public string Render(IReadOnlyList<ChatMessage> messages, IReadOnlyList<JsonElement>? tools, bool addGenerationPrompt,
        IReadOnlyDictionary<string, object?>? kwargs = null)
    {
        var variables = kwargs is null ? new Dictionary<string, object?>() : new Dictionary<string, object?>(kwargs);
        if (tools is not null) variables["tools"] = tools.Select(t => (object?)t).ToList();
        return Render(messages, addGenerationPrompt, variables);
    }

    /// <summary>Renders messages given as arbitrary objects (e.g. dictionaries with tool_calls, or JsonElement).</summary>
    public string Render(IReadOnlyList<object?> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extraVariables = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return RenderWith(messages.Select(Py.FromClr).ToList(), addGenerationPrompt, extraVariables);
    }

    private string RenderWith(List<object?> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extraVariables)
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["tools"] = null,
            ["documents"] = null,
        };
        if (extraVariables is not null)
            foreach (var (key, value) in extraVariables) variables[key] = value;
        variables["messages"] = messages;
        variables["add_generation_prompt"] = addGenerationPrompt;
        return JinjaInterpreter.Render(_source, _nodes, variables);
    }
}
