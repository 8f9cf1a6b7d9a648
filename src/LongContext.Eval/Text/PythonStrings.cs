using System.Text;

namespace LongContext.Eval.Text;

/// <summary>Python string semantics that benchmark scripts rely on, for byte-identical prompts and scores.</summary>
public static class PythonStrings
{
    /// <summary>str.strip(): .NET's white space plus the separators U+001C–U+001F, which Python also strips.</summary>
    public static string Strip(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsSpace(s[start])) start++;
        while (end > start && IsSpace(s[end - 1])) end--;
        return start == 0 && end == s.Length ? s : s[start..end];
    }

    private static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    /// <summary>
    /// str.format with named fields only ({name}; {{ and }} are literal braces), as templates filled by keyword use it.
    /// A field not in <paramref name="fields"/> is an error naming it, like Python's KeyError.
    /// </summary>
    public static string Format(string template, IReadOnlyDictionary<string, string> fields)
    {
        var sb = new StringBuilder(template.Length);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{') { sb.Append('{'); i++; }
            else if (c == '}' && i + 1 < template.Length && template[i + 1] == '}') { sb.Append('}'); i++; }
            else if (c == '{')
            {
                var close = template.IndexOf('}', i);
                if (close < 0) throw new EvalException($"template: unmatched '{{' at {i}.");
                var name = template[(i + 1)..close];
                sb.Append(fields.TryGetValue(name, out var v) ? v : throw new EvalException($"template: unknown field {{{name}}}; it may use {string.Join(", ", fields.Keys.Select(k => "{" + k + "}"))}."));
                i = close;
            }
            else if (c == '}') throw new EvalException($"template: single '}}' at {i}.");
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
