using System.Text.Json;

namespace LongContext.Formats.Config;

/// <summary>
/// Typed reads of one JSON object's fields whose errors name the file and the field
/// (`config.json: field 'rope_scaling.factor' must be a number, got "eight"`). A JSON null reads as absent.
/// </summary>
internal sealed class JsonFields
{
    private readonly Dictionary<string, JsonElement> _fields = new(StringComparer.Ordinal);

    public JsonFields(JsonElement element, string sourceName, string path)
    {
        SourceName = sourceName;
        Path = path;
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Error(path.Length == 0 ? "the file" : $"field '{path.TrimEnd('.')}'",
                $"must be a JSON object, got {Describe(element)}");
        }
        foreach (var property in element.EnumerateObject())
        {
            if (!_fields.TryAdd(property.Name, property.Value))
            {
                throw Error($"field '{path}{property.Name}'", "appears twice; keep one");
            }
        }
    }

    public string SourceName { get; }

    /// <summary>Prefix of this object's keys in messages: "" at top level, "rope_scaling." inside it.</summary>
    public string Path { get; }

    public IEnumerable<string> Keys => _fields.Keys;

    public bool Has(string key) => _fields.ContainsKey(key);

    /// <summary>Present with a non-null value.</summary>
    public bool HasValue(string key) => _fields.TryGetValue(key, out var value) && value.ValueKind != JsonValueKind.Null;

    public JsonElement? Raw(string key) =>
        _fields.TryGetValue(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public string Name(string key) => Path + key;

    public ConfigException Error(string subject, string problem) => new($"{SourceName}: {subject} {problem}.");

    public ConfigException FieldError(string key, string problem) => Error($"field '{Name(key)}'", problem);

    public int? OptInt(string key)
    {
        if (Raw(key) is not { } value)
        {
            return null;
        }
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt32(out var i))
            {
                return i;
            }
            // 4096.0 is an integer written as a float by some tools.
            if (value.TryGetDouble(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue)
            {
                return (int)d;
            }
        }
        throw FieldError(key, $"must be an integer, got {Describe(value)}");
    }

    public int ReqInt(string key) => OptInt(key) ?? throw FieldError(key, "is required but missing");

    public double? OptDouble(string key)
    {
        if (Raw(key) is not { } value)
        {
            return null;
        }
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d))
        {
            return d;
        }
        throw FieldError(key, $"must be a number, got {Describe(value)}");
    }

    public bool? OptBool(string key)
    {
        if (Raw(key) is not { } value)
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw FieldError(key, $"must be true or false, got {Describe(value)}"),
        };
    }

    public string? OptString(string key)
    {
        if (Raw(key) is not { } value)
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw FieldError(key, $"must be a string, got {Describe(value)}");
    }

    public double[]? OptDoubleArray(string key)
    {
        if (Raw(key) is not { } value)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw FieldError(key, $"must be a list of numbers, got {Describe(value)}");
        }
        var result = new double[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out var d) || !double.IsFinite(d))
            {
                throw FieldError(key, $"must be a list of numbers, but item {i} is {Describe(item)}");
            }
            result[i++] = d;
        }
        return result;
    }

    /// <summary>An integer or a list of integers (HF `eos_token_id`).</summary>
    public int[]? OptIntOrIntList(string key)
    {
        if (Raw(key) is not { } value)
        {
            return null;
        }
        if (value.ValueKind == JsonValueKind.Number)
        {
            return [OptInt(key)!.Value];
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw FieldError(key, $"must be an integer or a list of integers, got {Describe(value)}");
        }
        var result = new List<int>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id))
            {
                throw FieldError(key, $"must be an integer or a list of integers, but an item is {Describe(item)}");
            }
            result.Add(id);
        }
        return [.. result];
    }

    public static string Describe(JsonElement value)
    {
        var text = value.GetRawText();
        if (text.Length > 60)
        {
            text = text[..57] + "...";
        }
        return value.ValueKind switch
        {
            JsonValueKind.Object => $"an object {text}",
            JsonValueKind.Array => $"a list {text}",
            _ => text,
        };
    }
}
