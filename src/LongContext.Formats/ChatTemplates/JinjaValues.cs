using System.Collections;
using System.Globalization;
using System.Numerics;
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
/// Python-semantics helpers over the value model: None (null), Undefined, bool, ints (long, or BigInteger only
/// outside long's range, as Python ints have no limit), double, string, List&lt;object?&gt; (lists and tuples),
/// Dictionary&lt;object, object?&gt; (dicts, insertion-ordered), Namespace.
/// </summary>
internal static class Py
{
    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        BigInteger b => !b.IsZero,
        double d => d != 0,
        string s => s.Length > 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    /// <summary>
    /// Python's str.isspace(): Unicode White_Space plus U+001C–U+001F (the information separators, which Python
    /// counts and .NET's char.IsWhiteSpace does not). jinja2's lexer (\s) and str.strip/split use the same set.
    /// </summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    /// <summary>The same set as a regex character-class body.</summary>
    public const string SpaceClass = @"\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

    /// <summary>Python's str.strip() / lstrip() / rstrip() without arguments.</summary>
    public static string Strip(string s, bool left = true, bool right = true)
    {
        int start = 0, end = s.Length;
        if (left) while (start < end && IsSpace(s[start])) start++;
        if (right) while (end > start && IsSpace(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary>Converts caller values (JsonElement, JsonNode, records, CLR collections) into the value model.</summary>
    public static object? FromClr(object? v) => v switch
    {
        null => null,
        string or bool or long or double or Undefined or Namespace or JinjaCallable => v,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        sbyte b => (long)b,
        ushort u => (long)u,
        uint u => (long)u,
        ulong u => Int(u),
        BigInteger b => Int(b),
        float f => (double)f,
        Half h => (double)h,
        decimal m => m == decimal.Truncate(m) ? Int(new BigInteger(m)) : (double)m,
        JsonElement e => FromJson(e),
        JsonNode n => FromJson(JsonSerializer.SerializeToElement(n)),
        Tokenization.ChatMessage m => m.ToTemplateValue(),
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
        JsonValueKind.Number => FromJsonNumber(e),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        _ => e.EnumerateObject().ToDictionary(p => (object)p.Name, p => FromJson(p.Value)),
    };

    /// <summary>
    /// A JSON number as Python's json.loads reads it: without a fraction or exponent it is an int of any size
    /// (12345678901234567890 stays exact), otherwise a float (1.0 stays 1.0; 1e400 is inf).
    /// </summary>
    private static object FromJsonNumber(JsonElement e)
    {
        string raw = e.GetRawText();
        if (raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0)
            return double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
        return e.TryGetInt64(out long l) ? l : Int(BigInteger.Parse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
    }

    /// <summary>An int in the value model: long when it fits, BigInteger otherwise (so equal ints have one representation).</summary>
    public static object Int(BigInteger b) => b >= long.MinValue && b <= long.MaxValue ? (object)(long)b : b;

    public static bool IsInt(object? v) => v is long or BigInteger or bool;

    public static BigInteger ToBigInteger(object? v) => v switch
    {
        long l => l,
        BigInteger b => b,
        bool b => b ? BigInteger.One : BigInteger.Zero,
        double d when double.IsFinite(d) => new BigInteger(Math.Truncate(d)),
        double => throw new OverflowException("cannot convert float infinity or NaN to integer"),
        _ => throw new InvalidOperationException($"'{TypeName(v)}' is not a number"),
    };

    /// <summary>
    /// Python's round(float, ndigits): the exact binary value rounded half-to-even at the decimal digit (so
    /// round(2.675, 2) is 2.67, since 2.675 is stored as 2.67499999...), unlike Math.Round.
    /// </summary>
    public static double Round(double d, int digits)
    {
        if (!double.IsFinite(d) || d == 0 || digits > 330) return d;
        if (digits < -330) return 0.0 * Math.Sign(d);
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(d));
        int exponent = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0) exponent++; else mantissa |= 1L << 52;
        exponent -= 1075; // |d| = mantissa * 2^exponent exactly
        BigInteger num = mantissa, den = BigInteger.One;
        if (exponent >= 0) num <<= exponent; else den <<= -exponent;
        if (digits >= 0) num *= BigInteger.Pow(10, digits); else den *= BigInteger.Pow(10, -digits);
        var q = BigInteger.DivRem(num, den, out var r);
        int half = (r * 2).CompareTo(den);
        if (half > 0 || (half == 0 && !q.IsEven)) q += 1;
        string text = digits >= 0 ? q.ToString(CultureInfo.InvariantCulture) + "e-" + digits : q.ToString(CultureInfo.InvariantCulture) + "e" + (-digits);
        return Math.CopySign(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture), d);
    }

    /// <summary>Compares two numbers exactly, as Python does (2**53 + 1 != 2.0**53); null when either is NaN (every comparison is false).</summary>
    public static int? CompareNumbers(object? a, object? b)
    {
        if (IsInt(a) && IsInt(b))
        {
            return a is long x && b is long y ? x.CompareTo(y) : ToBigInteger(a).CompareTo(ToBigInteger(b));
        }
        if (a is double da && b is double db) return double.IsNaN(da) || double.IsNaN(db) ? null : da.CompareTo(db);
        bool flip = a is double;
        var (i, d) = flip ? (ToBigInteger(b), (double)a!) : (ToBigInteger(a), ToDouble(b));
        int? c = CompareIntFloat(i, d);
        return flip ? -c : c;
    }

    private static int? CompareIntFloat(BigInteger i, double d)
    {
        if (double.IsNaN(d)) return null;
        if (double.IsInfinity(d)) return d > 0 ? -1 : 1;
        double floor = Math.Floor(d);
        int c = i.CompareTo(new BigInteger(floor));
        return c != 0 ? c : floor == d ? 0 : -1;
    }

    /// <summary>Python str().</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        BigInteger b => b.ToString(CultureInfo.InvariantCulture),
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

    /// <summary>
    /// Python's repr(float): the shortest digits that round-trip, fixed notation for 1e-4 ≤ |d| &lt; 1e16 (with ".0"
    /// when integral), otherwise d.ddde±XX (1e+16, 1.5e-05).
    /// </summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        string sign = double.IsNegative(d) ? "-" : "";
        if (d == 0) return sign + "0.0";
        // "R" gives the shortest round-trip digits: "1.5E-05", "123.25", "1E+16".
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        string mantissa = e < 0 ? r : r[..e];
        int exponent = e < 0 ? 0 : int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        // The value is 0.digits × 10^point.
        int point = (dot < 0 ? mantissa.Length : dot) + exponent;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..].TrimEnd('0');
        point -= lead;
        if (point > -4 && point <= 16)
        {
            string fixedText = point <= 0 ? "0." + new string('0', -point) + digits
                : point >= digits.Length ? digits + new string('0', point - digits.Length) + ".0"
                : digits[..point] + "." + digits[point..];
            return sign + fixedText;
        }
        int exp10 = point - 1;
        string m = digits.Length == 1 ? digits : digits[..1] + "." + digits[1..];
        return sign + m + "e" + (exp10 < 0 ? "-" : "+") + Math.Abs(exp10).ToString("00", CultureInfo.InvariantCulture);
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
        if (IsNumber(a) && IsNumber(b)) return CompareNumbers(a, b) == 0;
        if (a is string sa && b is string sb) return sa == sb;
        if (a is List<object?> la && b is List<object?> lb) return la.Count == lb.Count && la.Zip(lb).All(p => Equals(p.First, p.Second));
        if (a is Dictionary<object, object?> da && b is Dictionary<object, object?> db)
            return da.Count == db.Count && da.All(kv => db.TryGetValue(kv.Key, out var v) && Equals(kv.Value, v));
        return ReferenceEquals(a, b);
    }

    public static bool IsNumber(object? v) => v is long or BigInteger or double or bool;

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        BigInteger b => (double)b,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new InvalidOperationException($"'{TypeName(v)}' is not a number"),
    };

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        Undefined => "Undefined",
        bool => "bool",
        long or BigInteger => "int",
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
            case BigInteger b: sb.Append(b.ToString(CultureInfo.InvariantCulture)); break;
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
