using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace LongContext.Formats.ChatTemplates;

/// <summary>jinja2 filters and tests, Python operators, and the str/dict/list methods HF templates call.</summary>
internal static class JinjaBuiltins
{
    private static readonly Regex TitleSplit = new(@"([-" + Py.SpaceClass + @"({\[<]+)", RegexOptions.CultureInvariant);

    // ---- operators ----

    public static object? Binary(string op, object? a, object? b)
    {
        if (op == "~") return Py.Str(a) + Py.Str(b);
        if (a is Undefined || b is Undefined)
            throw new InvalidOperationException($"{((a as Undefined) ?? (Undefined)b!).Description} is undefined (operator '{op}')");
        switch (op)
        {
            case "+":
                if (a is string sa && b is string sb) return sa + sb;
                if (a is List<object?> la && b is List<object?> lb) return la.Concat(lb).ToList();
                return Arith(op, a, b);
            case "*":
                if (a is string s1 && b is long n1) return Repeat(s1, n1);
                if (a is long n2 && b is string s2) return Repeat(s2, n2);
                if (a is List<object?> l1 && b is long n3) return Enumerable.Repeat(l1, (int)Math.Max(0, n3)).SelectMany(x => x).ToList();
                return Arith(op, a, b);
            case "%" when a is string format:
                return PercentFormat(format, b);
            default:
                return Arith(op, a, b);
        }
    }

    private static string Repeat(string s, long n) => n <= 0 ? "" : string.Concat(Enumerable.Repeat(s, (int)n));

    private static object Arith(string op, object? a, object? b)
    {
        if (!Py.IsNumber(a) || !Py.IsNumber(b))
            throw new InvalidOperationException($"unsupported operand types for {op}: '{Py.TypeName(a)}' and '{Py.TypeName(b)}'");
        if (Py.IsInt(a) && Py.IsInt(b)) return IntArith(op, Py.ToBigInteger(a), Py.ToBigInteger(b));
        double p = Py.ToDouble(a), q = Py.ToDouble(b);
        return op switch
        {
            "+" => p + q,
            "-" => p - q,
            "*" => p * q,
            "/" => q == 0 ? throw new DivideByZeroException("float division by zero") : p / q,
            "//" => q == 0 ? throw new DivideByZeroException("float floor division by zero") : Math.Floor(p / q),
            "%" => q == 0 ? throw new DivideByZeroException("float modulo") : p - q * Math.Floor(p / q),
            "**" => Math.Pow(p, q),
            _ => throw new InvalidOperationException($"unknown operator {op}"),
        };
    }

    /// <summary>Python int arithmetic: exact at any size, floor division and modulo take the divisor's sign.</summary>
    private static object IntArith(string op, BigInteger x, BigInteger y)
    {
        switch (op)
        {
            case "+": return Py.Int(x + y);
            case "-": return Py.Int(x - y);
            case "*": return Py.Int(x * y);
            case "/":
                if (y.IsZero) throw new DivideByZeroException("division by zero");
                return (double)x / (double)y;
            case "//":
            {
                if (y.IsZero) throw new DivideByZeroException("integer division by zero");
                var q = BigInteger.DivRem(x, y, out var r);
                return Py.Int(!r.IsZero && (r.Sign < 0) != (y.Sign < 0) ? q - 1 : q);
            }
            case "%":
            {
                if (y.IsZero) throw new DivideByZeroException("integer modulo by zero");
                var r = BigInteger.Remainder(x, y);
                return Py.Int(!r.IsZero && (r.Sign < 0) != (y.Sign < 0) ? r + y : r);
            }
            case "**":
                if (y.Sign < 0) return Math.Pow((double)x, (double)y);
                // A template is data from a model folder: refuse results no chat template needs (10**10**9 would hang).
                if (y > 100_000 || (double)y * BigInteger.Abs(x).GetBitLength() > 1_000_000)
                    throw new InvalidOperationException($"{x} ** {y} is too large");
                return Py.Int(BigInteger.Pow(x, (int)y));
            default:
                throw new InvalidOperationException($"unknown operator {op}");
        }
    }

    private static string PercentFormat(string format, object? args)
    {
        var values = args is PyTuple t ? t : [args];
        int next = 0;
        string result = Regex.Replace(format, @"%(?:\.(\d+))?([sdirf%])", m =>
        {
            if (m.Groups[2].Value == "%") return "%";
            if (next >= values.Count) throw new InvalidOperationException("not enough arguments for format string");
            var v = values[next++];
            int precision = m.Groups[1].Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 6;
            return m.Groups[2].Value switch
            {
                "d" or "i" => Py.ToBigInteger(v).ToString(CultureInfo.InvariantCulture),
                "r" => Py.Repr(v),
                "f" => Py.ToDouble(v).ToString("F" + precision, CultureInfo.InvariantCulture),
                _ => Py.Str(v),
            };
        });
        if (next < values.Count) throw new InvalidOperationException("not all arguments converted during string formatting");
        return result;
    }

    public static bool Compare(string op, object? a, object? b) => op switch
    {
        "==" => Py.Equals(a, b),
        "!=" => !Py.Equals(a, b),
        "in" => Contains(b, a),
        "not in" => !Contains(b, a),
        _ => Order(op, a, b),
    };

    private static bool Order(string op, object? a, object? b)
    {
        int c;
        if (Py.IsNumber(a) && Py.IsNumber(b))
        {
            if (Py.CompareNumbers(a, b) is not int n) return false; // NaN: every ordering is false, as in Python
            c = n;
        }
        else if (a is string sa && b is string sb) c = string.CompareOrdinal(sa, sb);
        else throw new InvalidOperationException($"'{op}' not supported between '{Py.TypeName(a)}' and '{Py.TypeName(b)}'");
        return op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, ">=" => c >= 0, _ => false };
    }

    public static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw new InvalidOperationException("'in <string>' requires string as left operand"),
        List<object?> l => l.Any(x => Py.Equals(x, item)),
        Dictionary<object, object?> d => item is not null && d.ContainsKey(item),
        Undefined => false,
        _ => throw new InvalidOperationException($"argument of type '{Py.TypeName(container)}' is not iterable"),
    };

    private static int CompareCaseInsensitive(object? a, object? b) =>
        a is string sa && b is string sb ? string.CompareOrdinal(sa.ToLowerInvariant(), sb.ToLowerInvariant()) : Compare(a, b);

    private static int Compare(object? a, object? b)
    {
        if (Py.IsNumber(a) && Py.IsNumber(b)) return Py.CompareNumbers(a, b) ?? 0;
        return string.CompareOrdinal(Py.Str(a), Py.Str(b));
    }

    // ---- tests ----

    public static bool Test(string name, object? v, List<object?> args) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "string" => v is string,
        "number" => Py.IsNumber(v),
        "integer" => v is long or BigInteger,
        "float" => v is double,
        "mapping" => v is Dictionary<object, object?>,
        "iterable" => v is string or List<object?> or Dictionary<object, object?> or Undefined,
        "sequence" => v is string or List<object?> or Dictionary<object, object?>,
        "callable" => v is JinjaCallable,
        "odd" => !Py.ToBigInteger(v).IsEven,
        "even" => Py.ToBigInteger(v).IsEven,
        "divisibleby" => (Py.ToBigInteger(v) % Py.ToBigInteger(Arg(args, 0, name))).IsZero,
        "equalto" or "eq" or "==" or "sameas" => Py.Equals(v, Arg(args, 0, name)),
        "ne" or "!=" => !Py.Equals(v, Arg(args, 0, name)),
        "lt" or "lessthan" or "<" => Order("<", v, Arg(args, 0, name)),
        "le" or "<=" => Order("<=", v, Arg(args, 0, name)),
        "gt" or "greaterthan" or ">" => Order(">", v, Arg(args, 0, name)),
        "ge" or ">=" => Order(">=", v, Arg(args, 0, name)),
        "in" => Contains(Arg(args, 0, name), v),
        "lower" => v is string ls && ls == ls.ToLowerInvariant(),
        "upper" => v is string us && us == us.ToUpperInvariant(),
        _ => throw new InvalidOperationException($"unknown test '{name}'"),
    };

    private static object? Arg(List<object?> args, int i, string name) =>
        i < args.Count ? args[i] : throw new InvalidOperationException($"'{name}' needs an argument");

    // ---- filters ----

    public static object? Filter(string name, object? v, List<object?> args, Dictionary<string, object?> kw)
    {
        object? Get(int i, string key, object? fallback) => i < args.Count ? args[i] : kw.TryGetValue(key, out var x) ? x : fallback;
        switch (name)
        {
            case "trim": return Strip(Py.Str(v), Get(0, "chars", null) as string, true, true);
            case "string": return Py.Str(v);
            case "upper": return Py.Str(v).ToUpperInvariant();
            case "lower": return Py.Str(v).ToLowerInvariant();
            case "capitalize": return Capitalize(Py.Str(v));
            case "title":
                return string.Concat(TitleSplit.Split(Py.Str(v)).Where(p => p.Length > 0)
                    .Select(p => p[..1].ToUpperInvariant() + p[1..].ToLowerInvariant()));
            case "length" or "count": return Length(v);
            case "wordcount": return (long)Regex.Matches(Py.Str(v), @"\w+").Count;
            case "default" or "d":
            {
                bool boolean = Py.Truthy(Get(1, "boolean", false));
                return v is Undefined || (boolean && !Py.Truthy(v)) ? Get(0, "default_value", "") : v;
            }
            case "join":
            {
                var items = Py.Iterate(v);
                if (kw.TryGetValue("attribute", out var attr)) items = items.Select(i => Attribute(i, attr)).ToList();
                return string.Join(Py.Str(Get(0, "d", "")), items.Select(Py.Str));
            }
            case "first": { var items = Py.Iterate(v); return items.Count > 0 ? items[0] : new Undefined("first of an empty sequence"); }
            case "last": { var items = Py.Iterate(v); return items.Count > 0 ? items[^1] : new Undefined("last of an empty sequence"); }
            case "replace":
            {
                string s = Py.Str(v), old = Py.Str(Get(0, "old", "")), @new = Py.Str(Get(1, "new", ""));
                return Replace(s, old, @new, Get(2, "count", null));
            }
            case "int":
                return ToInt(v, Get(0, "default", 0L));
            case "float":
                return v switch
                {
                    long or BigInteger => Py.ToDouble(v),
                    double d => d,
                    bool b => b ? 1.0 : 0.0,
                    string s when double.TryParse(Py.Strip(s), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
                    _ => Get(0, "default", 0.0),
                };
            case "abs": return Py.IsInt(v) ? Py.Int(BigInteger.Abs(Py.ToBigInteger(v))) : Math.Abs(Py.ToDouble(v));
            case "round":
            {
                int precision = (int)Py.ToDouble(Get(0, "precision", 0L));
                string method = Py.Str(Get(1, "method", "common"));
                // round(int, n) is the int itself in Python (jinja2's default method calls round()).
                if (method == "common" && precision >= 0 && Py.IsInt(v) && v is not bool) return v;
                double d = Py.ToDouble(v), f = Math.Pow(10, precision);
                return method switch
                {
                    "ceil" => Math.Ceiling(d * f) / f,
                    "floor" => Math.Floor(d * f) / f,
                    _ => Py.Round(d, precision),
                };
            }
            case "items":
                return v switch
                {
                    Dictionary<object, object?> d => d.Select(kv => (object?)new PyTuple { kv.Key, kv.Value }).ToList(),
                    Undefined => new List<object?>(),
                    _ => throw new InvalidOperationException($"items filter expects a mapping, got {Py.TypeName(v)}"),
                };
            case "list": return Py.Iterate(v).ToList();
            case "unique":
            {
                var result = new List<object?>();
                foreach (var i in Py.Iterate(v))
                    if (!result.Any(r => Py.Equals(r, i))) result.Add(i);
                return result;
            }
            case "reverse":
                return v is string rs ? string.Concat(Py.TextElements(rs).Cast<string>().Reverse()) : Py.Iterate(v).AsEnumerable().Reverse().ToList();
            case "sort":
            {
                bool reverse = Py.Truthy(Get(0, "reverse", false));
                bool caseSensitive = Py.Truthy(Get(1, "case_sensitive", false));
                var attr = Get(2, "attribute", null);
                var items = Py.Iterate(v).ToList();
                var key = (object? i) => attr is null ? i : Attribute(i, attr);
                var sorted = items.OrderBy(key, Comparer<object?>.Create(caseSensitive ? Compare : CompareCaseInsensitive)).ToList();
                if (reverse) sorted.Reverse();
                return sorted;
            }
            case "sum":
            {
                kw.TryGetValue("attribute", out var attr);
                object? total = Get(1, "start", 0L);
                foreach (var i in Py.Iterate(v)) total = Binary("+", total, attr is null ? i : Attribute(i, attr));
                return total;
            }
            case "min" or "max":
            {
                var items = Py.Iterate(v);
                if (items.Count == 0) return new Undefined($"{name} of an empty sequence");
                var sorted = items.OrderBy(x => x, Comparer<object?>.Create(Compare)).ToList();
                return name == "min" ? sorted[0] : sorted[^1];
            }
            case "map":
            {
                var items = Py.Iterate(v);
                if (kw.TryGetValue("attribute", out var attr))
                {
                    kw.TryGetValue("default", out var dflt);
                    return items.Select(i =>
                    {
                        var x = Attribute(i, attr);
                        return x is Undefined && kw.ContainsKey("default") ? dflt : x;
                    }).ToList();
                }
                if (args.Count == 0) throw new InvalidOperationException("map needs a filter name or attribute=");
                string filter = Py.Str(args[0]);
                var rest = args.Skip(1).ToList();
                return items.Select(i => Filter(filter, i, rest, new Dictionary<string, object?>())).ToList();
            }
            case "select" or "reject":
            {
                bool keep = name == "select";
                return Py.Iterate(v).Where(i => (args.Count == 0 ? Py.Truthy(i) : Test(Py.Str(args[0]), i, args.Skip(1).ToList())) == keep).ToList();
            }
            case "selectattr" or "rejectattr":
            {
                bool keep = name == "selectattr";
                if (args.Count == 0) throw new InvalidOperationException($"{name} needs an attribute name");
                return Py.Iterate(v).Where(i =>
                {
                    var a = Attribute(i, args[0]);
                    return (args.Count == 1 ? Py.Truthy(a) : Test(Py.Str(args[1]), a, args.Skip(2).ToList())) == keep;
                }).ToList();
            }
            case "tojson":
            {
                var indentArg = Get(0, "indent", null);
                int? indent = indentArg is null ? null : (int)Py.ToDouble(indentArg);
                string itemSep = indent is null ? ", " : ",", keySep = ": ";
                if (kw.TryGetValue("separators", out var seps) && seps is List<object?> { Count: 2 } sl)
                {
                    itemSep = Py.Str(sl[0]);
                    keySep = Py.Str(sl[1]);
                }
                if (kw.TryGetValue("ensure_ascii", out var ea) && Py.Truthy(ea))
                    throw new InvalidOperationException("tojson(ensure_ascii=true) is not supported");
                return Py.ToJson(v, indent, itemSep, keySep, kw.TryGetValue("sort_keys", out var sk) && Py.Truthy(sk));
            }
            case "indent":
            {
                var widthArg = Get(0, "width", 4L);
                string indentation = widthArg is string ws ? ws : new string(' ', (int)Py.ToDouble(widthArg));
                bool first = Py.Truthy(Get(1, "first", false)), blank = Py.Truthy(Get(2, "blank", false));
                var lines = SplitLines(Py.Str(v) + "\n");
                string result;
                if (blank) result = string.Join("\n" + indentation, lines);
                else
                {
                    result = lines[0];
                    if (lines.Count > 1) result += "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? indentation + l : l));
                }
                return first ? indentation + result : result;
            }
            case "center":
            {
                string s = Py.Str(v);
                int width = (int)Py.ToDouble(Get(0, "width", 80L));
                if (s.Length >= width) return s;
                int left = (width - s.Length) / 2 + ((width - s.Length) % 2 & width % 2);
                return new string(' ', left) + s + new string(' ', width - s.Length - left);
            }
            case "safe": return v;
            case "format": return PercentFormat(Py.Str(v), args.Count == 1 ? args[0] : new PyTuple(args));
            case "attr":
                // jinja2's attr looks up Python attributes only: dict keys are not attributes.
                return v switch
                {
                    Namespace ns => ns.Values.TryGetValue(Py.Str(Get(0, "name", "")), out var a) ? a : new Undefined("attribute"),
                    _ => new Undefined($"'{Py.TypeName(v)} object' has no attribute {Py.Repr(Get(0, "name", ""))}"),
                };
            case "e" or "escape" or "forceescape":
                return Py.Str(v).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");
            case "batch":
            {
                int size = (int)Py.ToDouble(Get(0, "linecount", 1L));
                return Py.Iterate(v).Chunk(size).Select(c => (object?)c.ToList()).ToList();
            }
            case "dictsort":
                return v is Dictionary<object, object?> dd
                    ? dd.OrderBy(kv => kv.Key, Comparer<object?>.Create(CompareCaseInsensitive)).Select(kv => (object?)new PyTuple { kv.Key, kv.Value }).ToList()
                    : throw new InvalidOperationException("dictsort expects a mapping");
            default:
                throw new InvalidOperationException($"unsupported filter '{name}'");
        }
    }

    private static object? Attribute(object? item, object? attribute)
    {
        object? current = item;
        foreach (var part in Py.Str(attribute).Split('.'))
        {
            current = current switch
            {
                Dictionary<object, object?> d => d.TryGetValue(part, out var x) ? x
                    : long.TryParse(part, out long li) && d.TryGetValue(li, out var y) ? y : new Undefined($"attribute '{part}'"),
                List<object?> l when int.TryParse(part, out int i) => i < l.Count ? l[i] : new Undefined($"item {i}"),
                Namespace ns => ns.Values.TryGetValue(part, out var z) ? z : new Undefined($"attribute '{part}'"),
                _ => new Undefined($"attribute '{part}'"),
            };
        }
        return current;
    }

    public static long Length(object? v) => v switch
    {
        string s => Py.TextElements(s).Count,
        List<object?> l => l.Count,
        Dictionary<object, object?> d => d.Count,
        Undefined => 0,
        Namespace ns => ns.Values.Count,
        _ => throw new InvalidOperationException($"object of type '{Py.TypeName(v)}' has no len()"),
    };

    private static object? ToInt(object? v, object? fallback)
    {
        switch (v)
        {
            case long or BigInteger: return v;
            case bool b: return b ? 1L : 0L;
            case double d: return double.IsFinite(d) ? Py.Int(new BigInteger(Math.Truncate(d))) : fallback;
            case string s:
                s = Py.Strip(s).Replace("_", "");
                if (BigInteger.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return Py.Int(big);
                if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double dd) && double.IsFinite(dd))
                    return Py.Int(new BigInteger(Math.Truncate(dd)));
                return fallback;
            default: return fallback;
        }
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : s[..1].ToUpperInvariant() + s[1..].ToLowerInvariant();

    private static string PyTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsUpper(c) || char.IsLower(c) || char.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;
            sb.Append(cased ? (previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
            previousCased = cased;
        }
        return sb.ToString();
    }

    private static string Strip(string s, string? chars, bool left, bool right)
    {
        if (chars is null) return Py.Strip(s, left, right);
        var set = chars.ToCharArray();
        return left && right ? s.Trim(set) : left ? s.TrimStart(set) : s.TrimEnd(set);
    }

    private static string Replace(string s, string old, string @new, object? count)
    {
        int max = count is null ? int.MaxValue : (int)Py.ToDouble(count);
        if (max < 0) max = int.MaxValue;
        if (old.Length == 0)
        {
            // Python inserts the replacement between every char (and at both ends).
            var parts = Py.TextElements(s).Cast<string>().ToList();
            var sb = new StringBuilder();
            int done = 0;
            for (int i = 0; i <= parts.Count; i++)
            {
                if (done < max) { sb.Append(@new); done++; }
                if (i < parts.Count) sb.Append(parts[i]);
            }
            return sb.ToString();
        }
        var result = new StringBuilder();
        int pos = 0, n = 0;
        while (n < max)
        {
            int i = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (i < 0) break;
            result.Append(s, pos, i - pos).Append(@new);
            pos = i + old.Length;
            n++;
        }
        return result.Append(s, pos, s.Length - pos).ToString();
    }

    private static List<string> SplitLines(string s)
    {
        var lines = Regex.Split(s, "\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]").ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    private static List<object?> PySplit(string s, object? sep, int maxSplit)
    {
        if (maxSplit < 0) maxSplit = int.MaxValue;
        var result = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && Py.IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (result.Count == maxSplit)
                {
                    result.Add(s[i..]); // Python keeps the remainder's trailing whitespace
                    break;
                }
                int start = i;
                while (i < s.Length && !Py.IsSpace(s[i])) i++;
                result.Add(s[start..i]);
            }
            return result;
        }
        string separator = Py.Str(sep);
        if (separator.Length == 0) throw new InvalidOperationException("empty separator");
        int pos = 0;
        while (result.Count < maxSplit)
        {
            int i = s.IndexOf(separator, pos, StringComparison.Ordinal);
            if (i < 0) break;
            result.Add(s[pos..i]);
            pos = i + separator.Length;
        }
        result.Add(s[pos..]);
        return result;
    }

    // ---- methods ----

    public static object? CallMethod(object? target, string name, List<object?> args, Dictionary<string, object?> kw)
    {
        object? Get(int i, string key, object? fallback) => i < args.Count ? args[i] : kw.TryGetValue(key, out var x) ? x : fallback;
        switch (target)
        {
            case string s:
                switch (name)
                {
                    case "strip": return Strip(s, Get(0, "chars", null) as string, true, true);
                    case "lstrip": return Strip(s, Get(0, "chars", null) as string, true, false);
                    case "rstrip": return Strip(s, Get(0, "chars", null) as string, false, true);
                    case "upper": return s.ToUpperInvariant();
                    case "lower": return s.ToLowerInvariant();
                    case "title": return PyTitle(s);
                    case "capitalize": return Capitalize(s);
                    case "startswith" or "endswith":
                    {
                        var prefixes = Get(0, "prefix", null) is List<object?> l ? l.Select(Py.Str) : [Py.Str(Get(0, "prefix", ""))];
                        return name == "startswith"
                            ? prefixes.Any(p => s.StartsWith(p, StringComparison.Ordinal))
                            : prefixes.Any(p => s.EndsWith(p, StringComparison.Ordinal));
                    }
                    case "split": return PySplit(s, Get(0, "sep", null), (int)Py.ToDouble(Get(1, "maxsplit", -1L)));
                    case "splitlines": return SplitLines(s).Cast<object?>().ToList();
                    case "replace": return Replace(s, Py.Str(Get(0, "old", "")), Py.Str(Get(1, "new", "")), Get(2, "count", null));
                    case "join": return string.Join(s, Py.Iterate(Get(0, "iterable", null)).Select(Py.Str));
                    case "find": return (long)s.IndexOf(Py.Str(Get(0, "sub", "")), StringComparison.Ordinal);
                    case "count": return (long)Regex.Matches(s, Regex.Escape(Py.Str(Get(0, "sub", "")))).Count;
                    case "isdigit": return s.Length > 0 && s.All(char.IsDigit);
                    case "isalpha": return s.Length > 0 && s.All(char.IsLetter);
                    case "isspace": return s.Length > 0 && s.All(Py.IsSpace);
                    case "format": return FormatBraces(s, args, kw);
                }
                break;
            case Dictionary<object, object?> d:
                switch (name)
                {
                    case "items": return d.Select(kv => (object?)new PyTuple { kv.Key, kv.Value }).ToList();
                    case "keys": return d.Keys.Cast<object?>().ToList();
                    case "values": return d.Values.ToList();
                    case "get":
                    {
                        var key = Get(0, "key", null);
                        return key is not null && d.TryGetValue(key, out var v) ? v : Get(1, "default", null);
                    }
                }
                break;
            case List<object?> list:
                switch (name)
                {
                    case "index":
                    {
                        int i = list.FindIndex(x => Py.Equals(x, Get(0, "value", null)));
                        return i >= 0 ? (long)i : throw new InvalidOperationException("value is not in list");
                    }
                    case "count": return (long)list.Count(x => Py.Equals(x, Get(0, "value", null)));
                }
                break;
        }
        throw new InvalidOperationException($"unsupported method '{Py.TypeName(target)}.{name}()' (templates run in an immutable sandbox)");
    }

    private static string FormatBraces(string format, List<object?> args, Dictionary<string, object?> kw)
    {
        int auto = 0;
        return Regex.Replace(format, @"\{\{|\}\}|\{([^{}]*)\}", m =>
        {
            if (m.Value == "{{") return "{";
            if (m.Value == "}}") return "}";
            string field = m.Groups[1].Value;
            if (field.Length == 0) return Py.Str(auto < args.Count ? args[auto++] : throw new InvalidOperationException("format: not enough arguments"));
            if (int.TryParse(field, out int i)) return Py.Str(i < args.Count ? args[i] : throw new InvalidOperationException("format: index out of range"));
            return kw.TryGetValue(field, out var v) ? Py.Str(v) : throw new InvalidOperationException($"format: missing '{field}'");
        });
    }
}
