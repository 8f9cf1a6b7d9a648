using System.Text;

namespace LongContext.Formats.ChatTemplates;

/// <summary>
/// Splits a Jinja template into text, {{ output }} and {% statement %} pieces with jinja2's whitespace rules as
/// transformers configures them: trim_blocks (drop the newline after a block or comment tag), lstrip_blocks (drop
/// spaces/tabs before a block or comment tag that starts its line), `-` on either side strips all whitespace,
/// `+` disables lstrip/trim, comments vanish, a single trailing newline of the template is dropped.
/// </summary>
internal static class JinjaLexer
{
    internal enum Kind { Text, Output, Statement }

    /// <summary>One piece; Offset is where its content starts in the (newline-normalized) source.</summary>
    internal readonly record struct Piece(Kind Kind, string Content, int Offset);

    public static string NormalizeSource(string source)
    {
        string s = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    public static List<Piece> Split(string src)
    {
        var pieces = new List<Piece>();
        int pos = 0;
        bool lineStarting = true;
        bool stripNext = false;
        while (pos <= src.Length)
        {
            int tag = FindTagStart(src, pos);
            string text = tag < 0 ? src[pos..] : src[pos..tag];
            int textOffset = pos;
            if (stripNext)
            {
                string trimmed = Py.Strip(text, left: true, right: false);
                textOffset += text.Length - trimmed.Length;
                text = trimmed;
                stripNext = false;
            }
            if (tag < 0)
            {
                if (text.Length > 0) pieces.Add(new Piece(Kind.Text, text, textOffset));
                break;
            }
            char open = src[tag + 1];
            char control = tag + 2 < src.Length ? src[tag + 2] : '\0';
            bool isBlockLike = open is '%' or '#';
            if (control == '-')
            {
                text = Py.Strip(text, left: false, right: true);
            }
            else if (control != '+' && isBlockLike)
            {
                int lineStart = text.LastIndexOf('\n') + 1;
                if ((lineStart > 0 || lineStarting) && lineStart < text.Length && IsAllSpace(text, lineStart))
                    text = text[..lineStart];
            }
            if (text.Length > 0) pieces.Add(new Piece(Kind.Text, text, textOffset));

            int contentStart = tag + 2 + (control is '-' or '+' ? 1 : 0);
            char close = open == '{' ? '}' : open;
            int end = open == '#' ? FindCommentEnd(src, contentStart) : FindTagEnd(src, contentStart, close);
            if (end < 0)
                throw JinjaError.At(src, tag, open switch { '{' => "unclosed '{{'", '%' => "unclosed '{%'", _ => "unclosed comment '{#'" });
            char endControl = src[end - 1] is '-' or '+' && end - 1 >= contentStart ? src[end - 1] : '\0';
            string content = src[contentStart..(endControl == '\0' ? end : end - 1)];
            pos = end + 2;
            lineStarting = false;
            if (endControl == '-')
            {
                stripNext = true;
                int k = pos;
                while (k < src.Length && Py.IsSpace(src[k])) k++;
                lineStarting = k > pos ? src[k - 1] == '\n' : false;
            }
            else if (endControl != '+' && isBlockLike && pos < src.Length && src[pos] == '\n')
            {
                pos++;
                lineStarting = true;
            }
            if (open == '#') continue;
            var kind = open == '{' ? Kind.Output : Kind.Statement;
            if (kind == Kind.Statement && Py.Strip(content) == "raw")
            {
                pos = ReadRaw(src, pos, pieces, ref lineStarting, ref stripNext);
                continue;
            }
            pieces.Add(new Piece(kind, content, contentStart));
        }
        return pieces;
    }

    private static bool IsAllSpace(string s, int from)
    {
        for (int i = from; i < s.Length; i++)
            if (!Py.IsSpace(s[i])) return false;
        return true;
    }

    private static int FindTagStart(string src, int from)
    {
        for (int i = src.IndexOf('{', from); i >= 0 && i + 1 < src.Length; i = src.IndexOf('{', i + 1))
            if (src[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    /// <summary>Index of the closing "%}" / "}}" (of the close char), skipping string literals.</summary>
    private static int FindTagEnd(string src, int from, char close)
    {
        char quote = '\0';
        int depth = 0;
        for (int i = from; i + 1 < src.Length; i++)
        {
            char c = src[i];
            if (quote != '\0')
            {
                if (c == '\\') i++;
                else if (c == quote) quote = '\0';
                continue;
            }
            if (c is '\'' or '"') quote = c;
            else if (close == '}' && c == '{') depth++;
            else if (c == close && src[i + 1] == '}' && (close != '}' || depth == 0)) return i;
            else if (close == '}' && c == '}') depth--;
        }
        return -1;
    }

    private static int FindCommentEnd(string src, int from)
    {
        int i = src.IndexOf("#}", from, StringComparison.Ordinal);
        return i;
    }

    /// <summary>Copies text up to {% endraw %} verbatim (with the endraw tag's own whitespace control).</summary>
    private static int ReadRaw(string src, int pos, List<Piece> pieces, ref bool lineStarting, ref bool stripNext)
    {
        var m = System.Text.RegularExpressions.Regex.Match(src[pos..], @"\{%([-+]?)[" + Py.SpaceClass + "]*endraw[" + Py.SpaceClass + @"]*([-+]?)%\}");
        if (!m.Success) throw JinjaError.At(src, pos, "missing {% endraw %}");
        string inner = src.Substring(pos, m.Index);
        if (stripNext) { inner = Py.Strip(inner, left: true, right: false); stripNext = false; }
        if (m.Groups[1].Value == "-") inner = Py.Strip(inner, left: false, right: true);
        else if (m.Groups[1].Value != "+")
        {
            int lineStart = inner.LastIndexOf('\n') + 1;
            if (lineStart > 0 && lineStart < inner.Length && IsAllSpace(inner, lineStart)) inner = inner[..lineStart];
        }
        if (inner.Length > 0) pieces.Add(new Piece(Kind.Text, inner, pos));
        int next = pos + m.Index + m.Length;
        lineStarting = false;
        if (m.Groups[2].Value == "-") stripNext = true;
        else if (m.Groups[2].Value != "+" && next < src.Length && src[next] == '\n')
        {
            next++;
            lineStarting = true;
        }
        return next;
    }
}

/// <summary>Builds TokenizerExceptions that name the template line and column.</summary>
internal static class JinjaError
{
    public static TokenizerException At(string src, int offset, string message)
    {
        int line = 1, col = 1;
        for (int i = 0; i < Math.Min(offset, src.Length); i++)
        {
            if (src[i] == '\n') { line++; col = 1; }
            else col++;
        }
        return new TokenizerException($"chat template line {line}, column {col}: {message}");
    }
}
