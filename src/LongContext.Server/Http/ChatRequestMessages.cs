using System.Text.Json;
using LongContext.Server.Scheduling;

namespace LongContext.Server.Http;

/// <summary>
/// OpenAI chat messages → what the chat template reads: role, content (a string, null, or text parts joined), and on
/// assistant turns tool_calls with their arguments parsed from OpenAI's JSON string into an object (templates render
/// them with tojson, as vLLM and TGI prepare them), on tool turns tool_call_id and name.
/// </summary>
internal static class ChatRequestMessages
{
    public static List<IReadOnlyDictionary<string, object?>> ToTemplate(IReadOnlyList<ChatMessageDto> messages) =>
        messages.Select((m, i) => (IReadOnlyDictionary<string, object?>)ToTemplate(m, i)).ToList();

    static Dictionary<string, object?> ToTemplate(ChatMessageDto m, int i)
    {
        string path = $"messages[{i}]";
        var d = new Dictionary<string, object?>
        {
            ["role"] = m.Role ?? throw Invalid($"{path}.role", $"{path}.role is required"),
            ["content"] = Content(m.Content, path + ".content"),
        };
        if (m.ToolCalls is { ValueKind: not JsonValueKind.Null } calls)
        {
            if (calls.ValueKind != JsonValueKind.Array) throw Invalid($"{path}.tool_calls", $"{path}.tool_calls must be an array");
            d["tool_calls"] = calls.EnumerateArray().Select((c, k) => ToolCall(c, $"{path}.tool_calls[{k}]")).ToList();
        }
        if (m.ToolCallId is not null) d["tool_call_id"] = m.ToolCallId;
        if (m.Name is not null) d["name"] = m.Name;
        return d;
    }

    /// <summary>A string, null, or the text parts of a content array (other part types are refused).</summary>
    static string? Content(JsonElement? content, string param)
    {
        if (content is not JsonElement c || c.ValueKind == JsonValueKind.Null) return null;
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array) throw Invalid(param, $"{param} must be a string or an array of parts");
        var text = new System.Text.StringBuilder();
        foreach (var part in c.EnumerateArray())
        {
            string? type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type != "text" || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
                throw new RequestRejectedException(RejectionKind.Unsupported, $"{param}: only text parts are supported (got type '{type}')", param);
            text.Append(value.GetString());
        }
        return text.ToString();
    }

    static Dictionary<string, object?> ToolCall(JsonElement call, string path)
    {
        if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object
            || !f.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            throw Invalid(path, $"{path} must be {{\"id\", \"type\": \"function\", \"function\": {{\"name\", \"arguments\"}}}}");
        object? arguments = f.TryGetProperty("arguments", out var a) ? a.ValueKind switch
        {
            JsonValueKind.String => ParsedObject(a.GetString()!) ?? (object)a.GetString()!,
            JsonValueKind.Null => new Dictionary<string, object?>(),
            _ => a.Clone(),
        } : new Dictionary<string, object?>();
        var d = new Dictionary<string, object?>
        {
            ["type"] = "function",
            ["function"] = new Dictionary<string, object?> { ["name"] = name.GetString(), ["arguments"] = arguments },
        };
        if (call.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String) d["id"] = id.GetString();
        return d;
    }

    static JsonElement? ParsedObject(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static RequestRejectedException Invalid(string param, string message) => new(RejectionKind.InvalidRequest, message, param);
}
