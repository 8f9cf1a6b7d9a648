using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LongContext.Formats.ChatTemplates;

/// <summary>jinja2's Undefined: prints as "", iterates as empty, is falsy; attribute access on it is an error.</summary>
internal sealed class Undefined
{
    public Undefined(string description) => Description = description;
    public string Description { get; }
    public static readonly Undefined Instance = new("value");
}

/// <summary>jinja2's namespace(): the one object whose attributes {% set ns.x = ... %} may change.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Values { get; } = new(StringComparer.Ordinal);
}

/// <summary>A Python tuple: a list that prints as (a, b). Tuple literals, dict items and dictsort produce it.</summary>
internal sealed class PyTuple : List<object?>
{
    public PyTuple() { }
    public PyTuple(IEnumerable<object?> items) : base(items) { }
}

/// <summary>A callable value (macros, globals, bound methods).</summary>
internal sealed class JinjaCallable(string name, Func<List<object?>, Dictionary<string, object?>, object?> invoke)
{
    public string Name { get; } = name;
    public object? Invoke(List<object?> args, Dictionary<string, object?> kwargs) => invoke(args, kwargs);
}

/// <summary>The `loop` variable of a for loop.</summary>
internal sealed class LoopInfo
{
    public required List<object?> Items { get; init; }
    public int Index0 { get; set; }
}

/// <summary>
/// Python-semantics helpers over the value model: None (null), Undefined, bool, long, double, string,
/// List&lt;object?&gt; (lists and tuples), Dictionary&lt;object, object?&gt; (dicts, insertion-ordered), Namespace.
/// </summary>
internal static class Py
{
    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    /// <summary>Converts caller values (JsonElement, JsonNode, records, CLR collections) into the value model.</summary>
    public static object? FromClr(object? v) => v switch
    {
        null => null,
        string or bool or long or double or Undefined or Namespace or JinjaCallable => v,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        uint u => (long)u,
        float f => (double)f,
        decimal m => (double)m,
        JsonElement e => FromJson(e),
        JsonNode n => FromJson(JsonSerializer.SerializeToElement(n)),
        Tokenization.ChatMessage m => new Dictionary<object, object?> { ["role"] = m.Role, ["content"] = m.Content },
        Dictionary<object, object?> d => d,
        IDictionary d => ConvertDictionary(d),
        IEnumerable e => e.Cast<object?>().Select(FromClr).ToList(),
        _ => FromJson(JsonSerializer.SerializeToElement(v, v.GetType())),
    };

    private static Dictionary<object, object?> ConvertDictionary(IDictionary d)
    {
        var result = new Dictionary<object, object?>();
        foreach (DictionaryEntry e in d) result[FromClr(e.Key) ?? "None"] = FromClr(e.Value);
        return result;
    }

    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        _ => e.EnumerateObject().ToDictionary(p => (object)p.Name, p => FromJson(p.Value)),
    };

    /// <summary>Python str().</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        _ => Repr(v),
    };

    /// <summary>Python repr().</summary>
    public static string Repr(object? v) => v switch
    {
        string s => StringRepr(s),
        PyTuple t => t.Count == 1 ? "(" + Repr(t[0]) + ",)" : "(" + string.Join(", ", t.Select(Repr)) + ")",
        List<object?> list => "[" + string.Join(", ", list.Select(Repr)) + "]",
        Dictionary<object, object?> d => "{" + string.Join(", ", d.Select(kv => Repr(kv.Key) + ": " + Repr(kv.Value))) + "}",
        Namespace ns => "<Namespace " + Repr(ns.Values.ToDictionary(kv => (object)kv.Key, kv => kv.Value)) + ">",
        JinjaCallable c => $"<function {c.Name}>",
        LoopInfo => "<LoopContext>",
        _ => Str(v),
    };

    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == Math.Floor(d) && Math.Abs(d) < 1e16) return d.ToString("F1", CultureInfo.InvariantCulture);
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        if (e < 0) return r;
        string mantissa = r[..e], exp = r[(e + 1)..];
        int expValue = int.Parse(exp, CultureInfo.InvariantCulture);
        if (expValue is >= -4 and < 16) return ((decimal)d).ToString(CultureInfo.InvariantCulture);
        return mantissa + "e" + (expValue < 0 ? "-" : "+") + Math.Abs(expValue).ToString("00", CultureInfo.InvariantCulture);
    }

    private static string StringRepr(string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder().Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7F) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append(quote).ToString();
    }

    public static new bool Equals(object? a, object? b)
    {
        if (a is Undefined && b is Undefined) return true;
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
        if (a is string sa && b is string sb) return sa == sb;
        if (a is List<object?> la && b is List<object?> lb) return la.Count == lb.Count && la.Zip(lb).All(p => Equals(p.First, p.Second));
        if (a is Dictionary<object, object?> da && b is Dictionary<object, object?> db)
            return da.Count == db.Count && da.All(kv => db.TryGetValue(kv.Key, out var v) && Equals(kv.Value, v));
        return ReferenceEquals(a, b);
    }

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new InvalidOperationException($"'{TypeName(v)}' is not a number"),
    };

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        Undefined => "Undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        Dictionary<object, object?> => "dict",
        Namespace => "Namespace",
        _ => v.GetType().Name,
    };

    /// <summary>Python iteration: list items, dict keys, string chars; Undefined is empty.</summary>
    public static List<object?> Iterate(object? v) => v switch
    {
        List<object?> l => l,
        Dictionary<object, object?> d => d.Keys.Cast<object?>().ToList(),
        string s => TextElements(s),
        Undefined => [],
        null => throw new InvalidOperationException("'NoneType' object is not iterable"),
        _ => throw new InvalidOperationException($"'{TypeName(v)}' object is not iterable"),
    };

    /// <summary>A string's code points as one-char (or surrogate-pair) strings.</summary>
    public static List<object?> TextElements(string s)
    {
        var result = new List<object?>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length) { result.Add(s.Substring(i, 2)); i++; }
            else result.Add(s[i].ToString());
        }
        return result;
    }

    /// <summary>json.dumps(value, ensure_ascii=False, indent, separators, sort_keys) as transformers' tojson filter.</summary>
    public static string ToJson(object? v, int? indent, string itemSeparator, string keySeparator, bool sortKeys)
    {
        var sb = new StringBuilder();
        WriteJson(sb, v, indent, itemSeparator, keySeparator, sortKeys, 0);
        return sb.ToString();
    }

    private static void WriteJson(StringBuilder sb, object? v, int? indent, string itemSep, string keySep, bool sortKeys, int depth)
    {
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : FloatRepr(d));
                break;
            case string s: WriteJsonString(sb, s); break;
            case List<object?> list:
                WriteContainer(sb, list.Count, indent, itemSep, depth, '[', ']', i => WriteJson(sb, list[i], indent, itemSep, keySep, sortKeys, depth + 1));
                break;
            case Dictionary<object, object?> dict:
            {
                var entries = dict.ToList();
                if (sortKeys) entries = entries.OrderBy(kv => Str(kv.Key), StringComparer.Ordinal).ToList();
                WriteContainer(sb, entries.Count, indent, itemSep, depth, '{', '}', i =>
                {
                    WriteJsonString(sb, entries[i].Key is string k ? k : JsonKey(entries[i].Key));
                    sb.Append(keySep);
                    WriteJson(sb, entries[i].Value, indent, itemSep, keySep, sortKeys, depth + 1);
                });
                break;
            }
            case Namespace ns:
                WriteJson(sb, ns.Values.ToDictionary(kv => (object)kv.Key, kv => kv.Value), indent, itemSep, keySep, sortKeys, depth);
                break;
            default:
                throw new InvalidOperationException($"Object of type {TypeName(v)} is not JSON serializable");
        }
    }

    private static string JsonKey(object key) => key switch
    {
        bool b => b ? "true" : "false",
        null => "null",
        _ => Str(key),
    };

    private static void WriteContainer(StringBuilder sb, int count, int? indent, string itemSep, int depth, char open, char close, Action<int> writeItem)
    {
        sb.Append(open);
        if (count == 0)
        {
            sb.Append(close);
            return;
        }
        for (int i = 0; i < count; i++)
        {
            if (i > 0) sb.Append(itemSep);
            if (indent is int n) sb.Append('\n').Append(' ', n * (depth + 1));
            writeItem(i);
        }
        if (indent is int m) sb.Append('\n').Append(' ', m * depth);
        sb.Append(close);
    }

    private static void WriteJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
