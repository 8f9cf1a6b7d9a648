using System.Text.Json;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// A conversation in OpenAI's chat format, read into what a chat template needs: `messages` (role, content as a
/// string, null or a list of text parts, `tool_calls`, `tool_call_id`, `name`, any other key passed through) and
/// optional `tools`. Accepts `{"messages": [...], "tools": [...]}` or a bare array of messages.
/// Errors name the JSON path at fault.
/// </summary>
public sealed record ChatConversation(IReadOnlyList<ChatMessage> Messages, IReadOnlyList<JsonElement>? Tools)
{
    private static readonly HashSet<string> KnownKeys = ["role", "content", "tool_calls", "tool_call_id", "name"];

    /// <summary>Parses JSON text; <paramref name="source"/> names it in errors (a file name, "request body").</summary>
    public static ChatConversation Parse(string json, string source)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            return FromJson(doc.RootElement, source);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{source}: not valid JSON ({e.Message})");
        }
    }

    public static ChatConversation FromJson(JsonElement root, string source)
    {
        JsonElement messages;
        IReadOnlyList<JsonElement>? tools = null;
        if (root.ValueKind == JsonValueKind.Array) messages = root;
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("messages", out messages))
        {
            if (root.TryGetProperty("tools", out var t) && t.ValueKind != JsonValueKind.Null)
            {
                if (t.ValueKind != JsonValueKind.Array) throw Error(source, "tools", "expected an array of tool definitions");
                tools = t.EnumerateArray().Select(x => x.Clone()).ToArray();
            }
        }
        else throw Error(source, "", "expected {\"messages\": [...], \"tools\": [...]} or an array of messages");
        if (messages.ValueKind != JsonValueKind.Array) throw Error(source, "messages", "expected an array");
        var list = new List<ChatMessage>();
        int i = 0;
        foreach (var m in messages.EnumerateArray()) list.Add(ReadMessage(m, source, $"messages[{i++}]"));
        return new ChatConversation(list, tools);
    }

    /// <summary>One OpenAI message: content parts are joined with "\n" (as vLLM does for string-content templates).</summary>
    public static ChatMessage ReadMessage(JsonElement m, string source, string path)
    {
        if (m.ValueKind != JsonValueKind.Object) throw Error(source, path, "expected an object with role and content");
        if (!m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            throw Error(source, path + ".role", "expected a string (system, user, assistant, tool)");
        string? content = null;
        if (m.TryGetProperty("content", out var c))
        {
            content = c.ValueKind switch
            {
                JsonValueKind.String => c.GetString(),
                JsonValueKind.Null => null,
                JsonValueKind.Array => string.Join("\n", c.EnumerateArray().Select((p, k) => TextPart(p, source, $"{path}.content[{k}]"))),
                _ => throw Error(source, path + ".content", "expected a string, null or a list of {\"type\": \"text\", \"text\": ...} parts"),
            };
        }
        List<ToolCall>? calls = null;
        if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind != JsonValueKind.Null)
        {
            if (tc.ValueKind != JsonValueKind.Array) throw Error(source, path + ".tool_calls", "expected an array");
            calls = tc.EnumerateArray().Select((x, k) => ReadToolCall(x, source, $"{path}.tool_calls[{k}]")).ToList();
        }
        Dictionary<string, object?>? extra = null;
        foreach (var p in m.EnumerateObject())
        {
            if (KnownKeys.Contains(p.Name)) continue;
            (extra ??= new Dictionary<string, object?>(StringComparer.Ordinal))[p.Name] = p.Value.Clone();
        }
        return new ChatMessage(role.GetString()!, content)
        {
            ToolCalls = calls,
            ToolCallId = OptionalString(m, "tool_call_id", source, path),
            Name = OptionalString(m, "name", source, path),
            Extra = extra,
        };
    }

    private static string TextPart(JsonElement part, string source, string path)
    {
        if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            && type.GetString() == "text" && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            return text.GetString()!;
        throw Error(source, path, "only {\"type\": \"text\", \"text\": ...} parts are supported (no images or audio)");
    }

    private static ToolCall ReadToolCall(JsonElement call, string source, string path)
    {
        if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object)
            throw Error(source, path, "expected {\"type\": \"function\", \"function\": {\"name\": ..., \"arguments\": ...}}");
        if (!f.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            throw Error(source, path + ".function.name", "expected a string");
        string? id = OptionalString(call, "id", source, path);
        if (!f.TryGetProperty("arguments", out var args) || args.ValueKind == JsonValueKind.Null)
            return new ToolCall(name.GetString()!, JsonSerializer.SerializeToElement(new Dictionary<string, object>()), id);
        return args.ValueKind == JsonValueKind.String
            ? ToolCall.FromJsonArguments(name.GetString()!, args.GetString()!, id)
            : new ToolCall(name.GetString()!, args.Clone(), id);
    }

    private static string? OptionalString(JsonElement obj, string key, string source, string path)
    {
        if (!obj.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Error(source, $"{path}.{key}", "expected a string");
    }

    private static ConfigException Error(string source, string path, string problem) =>
        new($"{source}{(path.Length > 0 ? " " + path : "")}: {problem}");
}
