using System.Text.Json;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// One chat turn as HF chat templates see it: `role` and `content`, plus the OpenAI tool-calling fields that
/// tool-use templates read (`tool_calls` on assistant turns; `tool_call_id` and `name` on `tool` turns).
/// Content is null for an assistant turn that only calls tools (as OpenAI sends it).
/// </summary>
public sealed record ChatMessage(string Role, string? Content)
{
    /// <summary>The calls an assistant turn made (`tool_calls`); null when it made none.</summary>
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }

    /// <summary>A tool turn: the id of the call it answers (`tool_call_id`).</summary>
    public string? ToolCallId { get; init; }

    /// <summary>A tool turn: the function's name (`name`; Llama-3.1's and Mistral's templates read it).</summary>
    public string? Name { get; init; }

    /// <summary>Any other key a template reads (e.g. `reasoning_content`), passed through as given (JSON-like values).</summary>
    public IReadOnlyDictionary<string, object?>? Extra { get; init; }

    /// <summary>The message as the template's `message` dict: only the keys that are set, so `is defined` tests work as in transformers.</summary>
    internal Dictionary<object, object?> ToTemplateValue()
    {
        var d = new Dictionary<object, object?> { ["role"] = Role, ["content"] = Content };
        if (ToolCalls is not null) d["tool_calls"] = ToolCalls.Select(c => (object?)c.ToTemplateValue()).ToList();
        if (ToolCallId is not null) d["tool_call_id"] = ToolCallId;
        if (Name is not null) d["name"] = Name;
        if (Extra is not null)
            foreach (var (key, value) in Extra) d[key] = ChatTemplates.Py.FromClr(value);
        return d;
    }
}

/// <summary>
/// One function call of an assistant turn, as templates read it: `{id, type: "function", function: {name, arguments}}`.
/// Arguments are a JSON object (templates render them with tojson or iterate them); OpenAI clients send them as a JSON
/// string, which <see cref="FromJsonArguments"/> parses, as vLLM and TGI do before templating.
/// </summary>
public sealed record ToolCall(string Name, JsonElement Arguments, string? Id = null)
{
    /// <summary>A call whose arguments arrive as OpenAI's JSON string; a string that is not a JSON object is kept as a string.</summary>
    public static ToolCall FromJsonArguments(string name, string arguments, string? id = null)
    {
        JsonElement parsed;
        try
        {
            using var doc = JsonDocument.Parse(arguments);
            parsed = doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : JsonSerializer.SerializeToElement(arguments);
        }
        catch (JsonException)
        {
            parsed = JsonSerializer.SerializeToElement(arguments);
        }
        return new ToolCall(name, parsed, id);
    }

    internal Dictionary<object, object?> ToTemplateValue()
    {
        var d = new Dictionary<object, object?>();
        if (Id is not null) d["id"] = Id;
        d["type"] = "function";
        d["function"] = new Dictionary<object, object?> { ["name"] = Name, ["arguments"] = ChatTemplates.Py.FromJson(Arguments) };
        return d;
    }
}
