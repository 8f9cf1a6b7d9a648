using System.Globalization;
using System.Text;

namespace LongContext.Formats.ChatTemplates;

/// <summary>Parses lexer pieces into statements and expressions (jinja2's grammar and operator precedence).</summary>
internal sealed class JinjaParser
{
    private enum T { Name, String, Int, Float, Op, End }

    private readonly record struct Tok(T Type, string Text, object? Value, int Offset);

    private readonly string _src;
    private readonly List<JinjaLexer.Piece> _pieces;
    private int _piece;
    private List<Tok> _toks = [];
    private int _pos;

    private JinjaParser(string src, List<JinjaLexer.Piece> pieces)
    {
        _src = src;
        _pieces = pieces;
    }

    public static List<Node> Parse(string src)
    {
        var parser = new JinjaParser(src, JinjaLexer.Split(src));
        var body = parser.ParseBody(out string? end, out int endOffset);
        if (end is not null) throw JinjaError.At(src, endOffset, $"unexpected '{{% {end} %}}'");
        return body;
    }

    // ---- statements ----

    /// <summary>Parses nodes until an unmatched end/else/elif tag (returned in end, its tokens positioned after the keyword).</summary>
    private List<Node> ParseBody(out string? end, out int endOffset)
    {
        var nodes = new List<Node>();
        while (_piece < _pieces.Count)
        {
            var piece = _pieces[_piece++];
            switch (piece.Kind)
            {
                case JinjaLexer.Kind.Text:
                    nodes.Add(new TextNode(piece.Content, piece.Offset));
                    break;
                case JinjaLexer.Kind.Output:
                    Begin(piece);
                    var value = ParseExpression();
                    ExpectEnd("}}");
                    nodes.Add(new OutputNode(value, piece.Offset));
                    break;
                default:
                    Begin(piece);
                    var keyword = Peek();
                    if (keyword.Type != T.Name) throw Error(keyword, "expected a statement keyword");
                    _pos++;
                    switch (keyword.Text)
                    {
                        case "if": nodes.Add(ParseIf(keyword.Offset)); break;
                        case "for": nodes.Add(ParseFor(keyword.Offset)); break;
                        case "set": nodes.Add(ParseSet(keyword.Offset)); break;
                        case "macro": nodes.Add(ParseMacro(keyword.Offset)); break;
                        case "break": ExpectEnd("%}"); nodes.Add(new BreakNode(keyword.Offset)); break;
                        case "continue": ExpectEnd("%}"); nodes.Add(new ContinueNode(keyword.Offset)); break;
                        case "generation":
                        {
                            // transformers' AssistantTracker block: renders its body unchanged.
                            ExpectEnd("%}");
                            nodes.AddRange(ParseBody(out var e, out int eo));
                            if (e != "endgeneration") throw JinjaError.At(_src, eo, "expected {% endgeneration %}");
                            ExpectEnd("%}");
                            break;
                        }
                        case "elif" or "else" or "endif" or "endfor" or "endset" or "endmacro" or "endgeneration":
                            end = keyword.Text;
                            endOffset = keyword.Offset;
                            return nodes;
                        default:
                            throw Error(keyword, $"unsupported statement '{keyword.Text}' (supported: if, for, set, macro, break, continue, raw, generation)");
                    }
                    break;
            }
        }
        end = null;
        endOffset = _src.Length;
        return nodes;
    }

    private IfNode ParseIf(int offset)
    {
        var branches = new List<(Expr, List<Node>)>();
        var condition = ParseExpression();
        ExpectEnd("%}");
        while (true)
        {
            var body = ParseBody(out var end, out int endOffset);
            branches.Add((condition, body));
            switch (end)
            {
                case "elif":
                    condition = ParseExpression();
                    ExpectEnd("%}");
                    continue;
                case "else":
                {
                    ExpectEnd("%}");
                    var elseBody = ParseBody(out var end2, out int endOffset2);
                    if (end2 != "endif") throw JinjaError.At(_src, endOffset2, "expected {% endif %}");
                    ExpectEnd("%}");
                    return new IfNode(branches, elseBody, offset);
                }
                case "endif":
                    ExpectEnd("%}");
                    return new IfNode(branches, null, offset);
                default:
                    throw JinjaError.At(_src, endOffset, "expected {% elif %}, {% else %} or {% endif %}");
            }
        }
    }

    private ForNode ParseFor(int offset)
    {
        var targets = new List<string> { ExpectName() };
        while (Accept(",")) targets.Add(ExpectName());
        if (!AcceptName("in")) throw Error(Peek(), "expected 'in'");
        var iterable = ParseOr(); // jinja2 parses the iterable without a conditional, so `if` can filter
        Expr? filter = null;
        if (AcceptName("if")) filter = ParseExpression(allowConditional: false);
        if (AcceptName("recursive")) throw Error(Peek(), "recursive loops are not supported");
        ExpectEnd("%}");
        var body = ParseBody(out var end, out int endOffset);
        List<Node>? elseBody = null;
        if (end == "else")
        {
            ExpectEnd("%}");
            elseBody = ParseBody(out end, out endOffset);
        }
        if (end != "endfor") throw JinjaError.At(_src, endOffset, "expected {% endfor %}");
        ExpectEnd("%}");
        return new ForNode(targets, iterable, filter, body, elseBody, offset);
    }

    private Node ParseSet(int offset)
    {
        var first = ExpectName();
        if (Accept("."))
        {
            string attribute = ExpectName();
            Expect("=");
            var v = ParseExpression();
            ExpectEnd("%}");
            return new SetNode([first], attribute, v, offset);
        }
        var targets = new List<string> { first };
        while (Accept(",")) targets.Add(ExpectName());
        if (Peek().Type == T.End && targets.Count == 1)
        {
            ExpectEnd("%}");
            var body = ParseBody(out var end, out int endOffset);
            if (end != "endset") throw JinjaError.At(_src, endOffset, "expected {% endset %}");
            ExpectEnd("%}");
            return new SetBlockNode(first, body, offset);
        }
        Expect("=");
        var value = ParseTupleOrExpression();
        ExpectEnd("%}");
        return new SetNode(targets, null, value, offset);
    }

    private MacroNode ParseMacro(int offset)
    {
        string name = ExpectName();
        Expect("(");
        var parameters = new List<(string, Expr?)>();
        while (!Accept(")"))
        {
            if (parameters.Count > 0) Expect(",");
            if (Accept(")")) break;
            string p = ExpectName();
            parameters.Add((p, Accept("=") ? ParseExpression() : null));
        }
        ExpectEnd("%}");
        var body = ParseBody(out var end, out int endOffset);
        if (end != "endmacro") throw JinjaError.At(_src, endOffset, "expected {% endmacro %}");
        if (Peek().Type == T.Name) _pos++; // {% endmacro name %}
        ExpectEnd("%}");
        return new MacroNode(name, parameters, body, offset);
    }

    // ---- expressions ----

    private Expr ParseTupleOrExpression()
    {
        var first = ParseExpression();
        if (!Check(",")) return first;
        var items = new List<Expr> { first };
        while (Accept(","))
        {
            if (Peek().Type == T.End) break;
            items.Add(ParseExpression());
        }
        return new ListExpr(items, first.Offset, IsTuple: true);
    }

    private Expr ParseExpression(bool allowConditional = true)
    {
        var expr = ParseOr();
        if (allowConditional && CheckName("if"))
        {
            int offset = Peek().Offset;
            _pos++;
            var condition = ParseOr();
            Expr? otherwise = AcceptName("else") ? ParseExpression() : null;
            return new CondExpr(condition, expr, otherwise, offset);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (CheckName("or"))
        {
            int o = Next().Offset;
            left = new BinaryExpr("or", left, ParseAnd(), o);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (CheckName("and"))
        {
            int o = Next().Offset;
            left = new BinaryExpr("and", left, ParseNot(), o);
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (CheckName("not"))
        {
            int o = Next().Offset;
            return new UnaryExpr("not", ParseNot(), o);
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            var t = Peek();
            if (t.Type == T.Op && t.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                _pos++;
                rest.Add((t.Text, ParseMath1()));
            }
            else if (CheckName("in"))
            {
                _pos++;
                rest.Add(("in", ParseMath1()));
            }
            else if (CheckName("not") && PeekAt(1) is { Type: T.Name, Text: "in" })
            {
                _pos += 2;
                rest.Add(("not in", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, first.Offset);
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Peek() is { Type: T.Op, Text: "+" or "-" } t)
        {
            _pos++;
            left = new BinaryExpr(t.Text, left, ParseConcat(), t.Offset);
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMath2();
        while (Peek() is { Type: T.Op, Text: "~" } t)
        {
            _pos++;
            left = new BinaryExpr("~", left, ParseMath2(), t.Offset);
        }
        return left;
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        while (Peek() is { Type: T.Op, Text: "*" or "/" or "//" or "%" } t)
        {
            _pos++;
            left = new BinaryExpr(t.Text, left, ParsePow(), t.Offset);
        }
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary(withFilter: true);
        while (Peek() is { Type: T.Op, Text: "**" } t)
        {
            _pos++;
            left = new BinaryExpr("**", left, ParseUnary(withFilter: true), t.Offset);
        }
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        var t = Peek();
        Expr expr;
        if (t.Type == T.Op && t.Text is "-" or "+")
        {
            _pos++;
            expr = new UnaryExpr(t.Text, ParseUnary(withFilter: false), t.Offset);
        }
        else
        {
            expr = ParsePostfix(ParsePrimary());
        }
        return withFilter ? ParseFilterAndTests(expr) : expr;
    }

    private Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Type)
        {
            case T.String:
            {
                // Adjacent string literals concatenate, as in Python.
                var sb = new StringBuilder((string)t.Value!);
                while (Peek().Type == T.String) sb.Append((string)Next().Value!);
                return new LiteralExpr(sb.ToString(), t.Offset);
            }
            case T.Int:
            case T.Float:
                return new LiteralExpr(t.Value, t.Offset);
            case T.Name:
                return t.Text switch
                {
                    "true" or "True" => new LiteralExpr(true, t.Offset),
                    "false" or "False" => new LiteralExpr(false, t.Offset),
                    "none" or "None" => new LiteralExpr(null, t.Offset),
                    _ => new NameExpr(t.Text, t.Offset),
                };
            case T.Op when t.Text == "(":
            {
                if (Accept(")")) return new ListExpr([], t.Offset, IsTuple: true);
                var first = ParseExpression();
                if (Accept(")")) return first;
                var items = new List<Expr> { first };
                while (Accept(","))
                {
                    if (Check(")")) break;
                    items.Add(ParseExpression());
                }
                Expect(")");
                return new ListExpr(items, t.Offset, IsTuple: true);
            }
            case T.Op when t.Text == "[":
            {
                var items = new List<Expr>();
                while (!Accept("]"))
                {
                    if (items.Count > 0) Expect(",");
                    if (Accept("]")) break;
                    items.Add(ParseExpression());
                }
                return new ListExpr(items, t.Offset);
            }
            case T.Op when t.Text == "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!Accept("}"))
                {
                    if (items.Count > 0) Expect(",");
                    if (Accept("}")) break;
                    var key = ParseExpression();
                    Expect(":");
                    items.Add((key, ParseExpression()));
                }
                return new DictExpr(items, t.Offset);
            }
            default:
                throw Error(t, t.Type == T.End ? "unexpected end of expression" : $"unexpected '{t.Text}'");
        }
    }

    private Expr ParsePostfix(Expr expr)
    {
        while (true)
        {
            var t = Peek();
            if (t.Type != T.Op) return expr;
            if (t.Text == ".")
            {
                _pos++;
                var name = Next();
                if (name.Type == T.Name) expr = new AttrExpr(expr, name.Text, name.Offset);
                else if (name.Type == T.Int) expr = new ItemExpr(expr, new LiteralExpr(name.Value, name.Offset), name.Offset);
                else throw Error(name, "expected an attribute name after '.'");
            }
            else if (t.Text == "[")
            {
                _pos++;
                expr = ParseSubscript(expr, t.Offset);
            }
            else if (t.Text == "(")
            {
                _pos++;
                var (args, kwargs) = ParseCallArgs();
                expr = new CallExpr(expr, args, kwargs, t.Offset);
            }
            else return expr;
        }
    }

    private Expr ParseSubscript(Expr target, int offset)
    {
        Expr? start = null, stop = null, step = null;
        if (!Check(":")) start = ParseExpression();
        if (!Accept(":"))
        {
            Expect("]");
            return new ItemExpr(target, start!, offset);
        }
        if (!Check(":") && !Check("]")) stop = ParseExpression();
        if (Accept(":") && !Check("]")) step = ParseExpression();
        Expect("]");
        return new SliceExpr(target, start, stop, step, offset);
    }

    /// <summary>After '(' : positional and keyword arguments up to ')'.</summary>
    private (List<Expr>, List<(string, Expr)>) ParseCallArgs()
    {
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!Accept(")"))
        {
            if (args.Count + kwargs.Count > 0)
            {
                Expect(",");
                if (Accept(")")) break;
            }
            if (Peek().Type == T.Name && PeekAt(1) is { Type: T.Op, Text: "=" })
            {
                string name = Next().Text;
                _pos++;
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                args.Add(ParseExpression());
            }
        }
        return (args, kwargs);
    }

    private Expr ParseFilterAndTests(Expr expr)
    {
        while (true)
        {
            var t = Peek();
            if (t.Type == T.Op && t.Text == "|")
            {
                _pos++;
                var name = ExpectDottedName();
                var (args, kwargs) = Accept("(") ? ParseCallArgs() : ([], []);
                expr = new FilterExpr(expr, name, args, kwargs, t.Offset);
            }
            else if (CheckName("is"))
            {
                _pos++;
                bool negated = AcceptName("not");
                var nameTok = Next();
                string name = nameTok.Type switch
                {
                    T.Name => nameTok.Text,
                    T.Op when nameTok.Text is "==" or "!=" or "<" or "<=" or ">" or ">=" => nameTok.Text,
                    _ => throw Error(nameTok, "expected a test name after 'is'"),
                };
                if (name is "none" or "true" or "false" or "None" or "True" or "False") name = name.ToLowerInvariant();
                var args = new List<Expr>();
                if (Accept("("))
                {
                    var (a, kw) = ParseCallArgs();
                    if (kw.Count > 0) throw Error(nameTok, "tests take no keyword arguments");
                    args = a;
                }
                else if (Peek() is { Type: T.String or T.Int or T.Float } || (Peek().Type == T.Name && !CheckName("and") && !CheckName("or")
                             && !CheckName("else") && !CheckName("if") && !CheckName("is") && !CheckName("in") && !CheckName("not"))
                         || Peek() is { Type: T.Op, Text: "[" or "{" })
                {
                    args.Add(ParsePostfix(ParsePrimary()));
                }
                expr = new TestExpr(expr, name, args, negated, t.Offset);
            }
            else if (t.Type == T.Op && t.Text == "(")
            {
                _pos++;
                var (args, kwargs) = ParseCallArgs();
                expr = new CallExpr(expr, args, kwargs, t.Offset);
            }
            else return expr;
        }
    }

    // ---- token helpers ----

    private void Begin(JinjaLexer.Piece piece)
    {
        _toks = Tokenize(piece.Content, piece.Offset);
        _pos = 0;
    }

    private Tok Peek() => _toks[_pos];
    private Tok PeekAt(int ahead) => _toks[Math.Min(_pos + ahead, _toks.Count - 1)];
    private Tok Next() => _toks[_pos < _toks.Count - 1 ? _pos++ : _pos];
    private bool Check(string op) => Peek() is { Type: T.Op } t && t.Text == op;
    private bool CheckName(string name) => Peek() is { Type: T.Name } t && t.Text == name;

    private bool Accept(string op)
    {
        if (!Check(op)) return false;
        _pos++;
        return true;
    }

    private bool AcceptName(string name)
    {
        if (!CheckName(name)) return false;
        _pos++;
        return true;
    }

    private void Expect(string op)
    {
        if (!Accept(op)) throw Error(Peek(), $"expected '{op}'");
    }

    private string ExpectName()
    {
        var t = Next();
        if (t.Type != T.Name) throw Error(t, "expected a name");
        return t.Text;
    }

    private string ExpectDottedName()
    {
        var name = ExpectName();
        while (Check(".") && PeekAt(1).Type == T.Name)
        {
            _pos++;
            name += "." + ExpectName();
        }
        return name;
    }

    private void ExpectEnd(string closer)
    {
        var t = Peek();
        if (t.Type != T.End) throw Error(t, $"expected '{closer}', found '{t.Text}'");
    }

    private TokenizerException Error(Tok t, string message) => JinjaError.At(_src, t.Offset, message);

    private List<Tok> Tokenize(string s, int baseOffset)
    {
        var toks = new List<Tok>();
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (Py.IsSpace(c)) { i++; continue; }
            int start = i;
            if (char.IsLetter(c) || c == '_')
            {
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_')) i++;
                toks.Add(new Tok(T.Name, s[start..i], null, baseOffset + start));
            }
            else if (char.IsAsciiDigit(c))
            {
                while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '_')) i++;
                bool isFloat = false;
                if (i + 1 < s.Length && s[i] == '.' && char.IsAsciiDigit(s[i + 1]))
                {
                    isFloat = true;
                    i++;
                    while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                }
                if (i < s.Length && s[i] is 'e' or 'E' && i + 1 < s.Length && (char.IsAsciiDigit(s[i + 1]) || (s[i + 1] is '+' or '-' && i + 2 < s.Length && char.IsAsciiDigit(s[i + 2]))))
                {
                    isFloat = true;
                    i += 2;
                    while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                }
                string text = s[start..i].Replace("_", "", StringComparison.Ordinal);
                toks.Add(isFloat
                    ? new Tok(T.Float, text, double.Parse(text, CultureInfo.InvariantCulture), baseOffset + start)
                    : new Tok(T.Int, text, Py.Int(System.Numerics.BigInteger.Parse(text, CultureInfo.InvariantCulture)), baseOffset + start));
            }
            else if (c is '\'' or '"')
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= s.Length) throw JinjaError.At(_src, baseOffset + start, "unterminated string literal");
                    char d = s[i];
                    if (d == c) { i++; break; }
                    if (d == '\\' && i + 1 < s.Length)
                    {
                        i = ReadEscape(s, i + 1, sb);
                        continue;
                    }
                    sb.Append(d);
                    i++;
                }
                toks.Add(new Tok(T.String, s[start..i], sb.ToString(), baseOffset + start));
            }
            else
            {
                string[] ops = ["**", "//", "==", "!=", "<=", ">="];
                string? op = ops.FirstOrDefault(o => string.CompareOrdinal(s, i, o, 0, 2) == 0);
                if (op is null)
                {
                    if ("+-*/%~<>=()[]{}.,:|".IndexOf(c) < 0)
                        throw JinjaError.At(_src, baseOffset + i, $"unexpected character '{c}'");
                    op = c.ToString();
                }
                i += op.Length;
                toks.Add(new Tok(T.Op, op, null, baseOffset + start));
            }
        }
        toks.Add(new Tok(T.End, "end of tag", null, baseOffset + s.Length));
        return toks;
    }

    /// <summary>Python string escapes; returns the index after the escape.</summary>
    private static int ReadEscape(string s, int i, StringBuilder sb)
    {
        char e = s[i];
        switch (e)
        {
            case 'n': sb.Append('\n'); return i + 1;
            case 't': sb.Append('\t'); return i + 1;
            case 'r': sb.Append('\r'); return i + 1;
            case '0': sb.Append('\0'); return i + 1;
            case 'b': sb.Append('\b'); return i + 1;
            case 'f': sb.Append('\f'); return i + 1;
            case 'v': sb.Append('\v'); return i + 1;
            case 'a': sb.Append('\a'); return i + 1;
            case '\\': case '\'': case '"': sb.Append(e); return i + 1;
            case '\n': return i + 1;
            case 'x' when i + 2 < s.Length:
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 2), 16)); return i + 3;
            case 'u' when i + 4 < s.Length:
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 4), 16)); return i + 5;
            case 'U' when i + 8 < s.Length:
                sb.Append(char.ConvertFromUtf32(Convert.ToInt32(s.Substring(i + 1, 8), 16))); return i + 9;
            default:
                sb.Append('\\').Append(e); return i + 1;
        }
    }
}
