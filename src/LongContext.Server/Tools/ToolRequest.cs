using System.Text.Json;
using LongContext.Server.Scheduling;

namespace LongContext.Server.Tools;

/// <summary>
/// The tools a request offers, as the chat template receives them (OpenAI's
/// <c>{"type": "function", "function": {"name", "description", "parameters"}}</c>), and whether the answer is parsed for
/// calls. tool_choice: "auto" (default) and "required" render every tool; a named function renders only that one;
/// "none" renders none and parses nothing. Nothing forces a call (there is no constrained decoding): "required" and a
/// named function steer the model through the prompt alone.
/// </summary>
public sealed record ToolRequest(IReadOnlyList<JsonElement> Tools, bool ParseCalls)
{
    /// <summary>From an OpenAI request body; null when it offers no tools. Malformed tools or tool_choice are a 400 naming the field.</summary>
    public static ToolRequest? FromOpenAi(JsonElement? tools, JsonElement? toolChoice)
    {
        if (tools is not { ValueKind: not JsonValueKind.Null } list)
        {
            if (toolChoice is { ValueKind: JsonValueKind.Object })
                throw Invalid("tool_choice", "tool_choice names a function but the request has no tools");
            return null;
        }
        if (list.ValueKind != JsonValueKind.Array) throw Invalid("tools", "tools must be an array of {\"type\": \"function\", \"function\": {...}}");
        var all = new List<JsonElement>();
        int i = 0;
        foreach (var tool in list.EnumerateArray())
        {
            string param = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                throw Invalid(param, $"{param} must be an object with \"type\": \"function\"");
            if (type.GetString() != "function")
                throw new RequestRejectedException(RejectionKind.Unsupported, $"{param}.type '{type.GetString()}' is not supported; only function tools are", param + ".type");
            if (!tool.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object
                || !f.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(name.GetString()))
                throw Invalid(param + ".function", $"{param}.function must be an object with a non-empty \"name\"");
            if (f.TryGetProperty("parameters", out var p) && p.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                throw Invalid(param + ".function.parameters", $"{param}.function.parameters must be a JSON Schema object");
            all.Add(tool.Clone());
        }
        return Choose(all, toolChoice switch
        {
            null or { ValueKind: JsonValueKind.Null } => "auto",
            { ValueKind: JsonValueKind.String } s when s.GetString() is "auto" or "none" or "required" => s.GetString()!,
            { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
                && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String => null,
            _ => throw Invalid("tool_choice", "tool_choice must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}"),
        }, toolChoice is { ValueKind: JsonValueKind.Object } named ? named.GetProperty("function").GetProperty("name").GetString() : null);
    }

    /// <summary><paramref name="mode"/>: auto, none or required; or null with <paramref name="function"/> naming the one to use.</summary>
    public static ToolRequest? Choose(IReadOnlyList<JsonElement> tools, string? mode, string? function)
    {
        if (tools.Count == 0) return null;
        if (mode == "none") return null;
        if (function is null) return new ToolRequest(tools, ParseCalls: true);
        var only = tools.Where(t => t.GetProperty("function").GetProperty("name").GetString() == function).ToList();
        if (only.Count == 0)
            throw Invalid("tool_choice", $"tool_choice names the function '{function}', which is not among the tools ({string.Join(", ", tools.Select(Name))})");
        return new ToolRequest(only, ParseCalls: true);
    }

    static string Name(JsonElement tool) => tool.GetProperty("function").GetProperty("name").GetString()!;

    static RequestRejectedException Invalid(string param, string message) => new(RejectionKind.InvalidRequest, message, param);
}
