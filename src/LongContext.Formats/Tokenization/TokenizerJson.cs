using System.Text.Json;

namespace LongContext.Formats.Tokenization;

/// <summary>Small readers for tokenizer.json fields whose errors name the json path.</summary>
internal static class TokenizerJson
{
    public static string RequiredString(JsonElement json, string name, string path)
    {
        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
            throw new TokenizerException($"{path}.{name}: expected a string");
        return v.GetString()!;
    }

    public static string? OptionalString(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool Bool(JsonElement json, string name, bool fallback) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean() : fallback;

    public static IReadOnlyList<JsonElement> RequiredArray(JsonElement json, string name, string path)
    {
        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array)
            throw new TokenizerException($"{path}.{name}: expected an array");
        return v.EnumerateArray().ToArray();
    }

    /// <summary>`pattern`: {"String": s} (literal) or {"Regex": r}, as a regex.</summary>
    public static UnicodeRegex RegexPattern(JsonElement json, string path)
    {
        if (!json.TryGetProperty("pattern", out var p) || p.ValueKind != JsonValueKind.Object)
            throw new TokenizerException($"{path}.pattern: expected {{\"Regex\": ...}} or {{\"String\": ...}}");
        if (p.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
            return new UnicodeRegex(r.GetString()!, $"{path}.pattern.Regex");
        if (p.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String)
            return new UnicodeRegex(System.Text.RegularExpressions.Regex.Escape(s.GetString()!), $"{path}.pattern.String");
        throw new TokenizerException($"{path}.pattern: expected {{\"Regex\": ...}} or {{\"String\": ...}}");
    }

    /// <summary>`pattern` that must be a literal {"String": s} (Replace normalizer/decoder).</summary>
    public static string StringPattern(JsonElement json, string path)
    {
        if (json.TryGetProperty("pattern", out var p) && p.ValueKind == JsonValueKind.Object
            && p.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String)
            return s.GetString()!;
        throw new TokenizerException($"{path}.pattern: only {{\"String\": ...}} patterns are supported here");
    }
}
