using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LongContext.Formats.ChatTemplates;

/// <summary>Renders parsed template nodes with jinja2 semantics (scopes, loops, macros, filters, tests, str methods).</summary>
internal sealed class JinjaInterpreter
{
    private sealed class Scope(Scope? parent)
    {
        private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);
        public Scope? Parent { get; } = parent;

        public bool TryGet(string name, out object? value)
        {
            for (var s = this; s is not null; s = s.Parent)
                if (s._vars.TryGetValue(name, out value)) return true;
            value = null;
            return false;
        }

        public void Set(string name, object? value) => _vars[name] = value;
    }

    private sealed class BreakSignal : Exception;
    private sealed class ContinueSignal : Exception;

    private readonly string _src;
    private readonly Scope _root;

    private JinjaInterpreter(string src, Scope root)
    {
        _src = src;
        _root = root;
    }

    public static string Render(string src, List<Node> nodes, IReadOnlyDictionary<string, object?> variables)
    {
        var root = new Scope(null);
        root.Set("range", new JinjaCallable("range", (a, _) => Range(a)));
        root.Set("namespace", new JinjaCallable("namespace", (a, kw) =>
        {
            var ns = new Namespace();
            foreach (var arg in a)
                if (arg is Dictionary<object, object?> d)
                    foreach (var (k, v) in d) ns.Values[Py.Str(k)] = v;
            foreach (var (k, v) in kw) ns.Values[k] = v;
            return ns;
        }));
        root.Set("dict", new JinjaCallable("dict", (_, kw) => kw.ToDictionary(kv => (object)kv.Key, kv => kv.Value)));
        root.Set("raise_exception", new JinjaCallable("raise_exception", (a, _) =>
            throw new TokenizerException($"chat template raised an error: {(a.Count > 0 ? Py.Str(a[0]) : "")}")));
        root.Set("strftime_now", new JinjaCallable("strftime_now", (a, _) => Strftime(DateTime.Now, a.Count > 0 ? Py.Str(a[0]) : "")));
        var scope = new Scope(root);
        foreach (var (k, v) in variables) scope.Set(k, Py.FromClr(v));
        var interpreter = new JinjaInterpreter(src, scope);
        var sb = new StringBuilder();
        try
        {
            interpreter.Exec(nodes, scope, sb);
        }
        catch (BreakSignal)
        {
            throw new TokenizerException("chat template: {% break %} outside a loop");
        }
        catch (ContinueSignal)
        {
            throw new TokenizerException("chat template: {% continue %} outside a loop");
        }
        catch (Exception e) when (IsEvaluationError(e))
        {
            throw new TokenizerException($"chat template: {e.Message}");
        }
        return sb.ToString();
    }

    // ---- statements ----

    private void Exec(List<Node> nodes, Scope scope, StringBuilder output)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode t:
                    output.Append(t.Text);
                    break;
                case OutputNode o:
                    output.Append(Py.Str(Eval(o.Value, scope)));
                    break;
                case IfNode i:
                {
                    bool done = false;
                    foreach (var (condition, body) in i.Branches)
                    {
                        if (!Py.Truthy(Eval(condition, scope))) continue;
                        Exec(body, scope, output);
                        done = true;
                        break;
                    }
                    if (!done && i.Else is not null) Exec(i.Else, scope, output);
                    break;
                }
                case ForNode f:
                    ExecFor(f, scope, output);
                    break;
                case SetNode s:
                {
                    var value = Eval(s.Value, scope);
                    if (s.Attribute is not null)
                    {
                        if (!scope.TryGet(s.Targets[0], out var target) || target is not Namespace ns)
                            throw Error(s.Offset, $"cannot assign attribute on '{s.Targets[0]}': only namespace() objects support {{% set x.attr = ... %}}");
                        ns.Values[s.Attribute] = value;
                    }
                    else
                    {
                        Assign(s.Targets, value, scope, s.Offset);
                    }
                    break;
                }
                case SetBlockNode sb:
                {
                    var inner = new StringBuilder();
                    Exec(sb.Body, scope, inner);
                    scope.Set(sb.Target, inner.ToString());
                    break;
                }
                case MacroNode m:
                    scope.Set(m.Name, MakeMacro(m));
                    break;
                case BreakNode:
                    throw new BreakSignal();
                case ContinueNode:
                    throw new ContinueSignal();
            }
        }
    }

    private void Assign(List<string> targets, object? value, Scope scope, int offset)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], value);
            return;
        }
        var items = Py.Iterate(value);
        if (items.Count != targets.Count)
            throw Error(offset, $"cannot unpack {items.Count} values into {targets.Count} names");
        for (int i = 0; i < targets.Count; i++) scope.Set(targets[i], items[i]);
    }

    private void ExecFor(ForNode f, Scope scope, StringBuilder output)
    {
        var source = Wrap(f.Offset, () => Py.Iterate(Eval(f.Iterable, scope)));
        var loopScope = new Scope(scope);
        List<object?> items;
        if (f.Filter is null)
        {
            items = source;
        }
        else
        {
            items = [];
            foreach (var item in source)
            {
                Assign(f.Targets, item, loopScope, f.Offset);
                if (Py.Truthy(Eval(f.Filter, loopScope))) items.Add(item);
            }
        }
        if (items.Count == 0)
        {
            if (f.Else is not null) Exec(f.Else, scope, output);
            return;
        }
        var loop = new LoopInfo { Items = items };
        loopScope.Set("loop", loop);
        for (int i = 0; i < items.Count; i++)
        {
            loop.Index0 = i;
            Assign(f.Targets, items[i], loopScope, f.Offset);
            try
            {
                Exec(f.Body, loopScope, output);
            }
            catch (BreakSignal)
            {
                break;
            }
            catch (ContinueSignal)
            {
            }
        }
    }

    private JinjaCallable MakeMacro(MacroNode m) => new(m.Name, (args, kwargs) =>
    {
        var callScope = new Scope(_root);
        for (int i = 0; i < m.Parameters.Count; i++)
        {
            var (name, defaultExpr) = m.Parameters[i];
            object? value = i < args.Count ? args[i]
                : kwargs.TryGetValue(name, out var kv) ? kv
                : defaultExpr is not null ? Eval(defaultExpr, callScope)
                : new Undefined($"macro parameter '{name}'");
            callScope.Set(name, value);
        }
        var sb = new StringBuilder();
        Exec(m.Body, callScope, sb);
        return sb.ToString();
    });

    // ---- expressions ----

    private object? Eval(Expr expr, Scope scope)
    {
        switch (expr)
        {
            case LiteralExpr l:
                return l.Value;
            case NameExpr n:
                if (n.Name == "loop" && !scope.TryGet("loop", out _)) return new Undefined("loop");
                return scope.TryGet(n.Name, out var v) ? v : new Undefined($"'{n.Name}'");
            case ListExpr l:
                return l.IsTuple ? new PyTuple(l.Items.Select(i => Eval(i, scope))) : l.Items.Select(i => Eval(i, scope)).ToList();
            case DictExpr d:
            {
                var dict = new Dictionary<object, object?>();
                foreach (var (k, val) in d.Items) dict[Eval(k, scope) ?? "None"] = Eval(val, scope);
                return dict;
            }
            case AttrExpr a:
                return GetAttr(Eval(a.Target, scope), a.Name, a.Offset);
            case ItemExpr i:
                return GetItem(Eval(i.Target, scope), Eval(i.Index, scope), i.Offset);
            case SliceExpr s:
                return Slice(Eval(s.Target, scope), s.Start is null ? null : Eval(s.Start, scope),
                    s.Stop is null ? null : Eval(s.Stop, scope), s.Step is null ? null : Eval(s.Step, scope), s.Offset);
            case CallExpr c:
                return EvalCall(c, scope);
            case FilterExpr f:
            {
                var target = Eval(f.Target, scope);
                var args = f.Args.Select(a => Eval(a, scope)).ToList();
                var kwargs = f.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value, scope));
                return Wrap(f.Offset, () => JinjaBuiltins.Filter(f.Name, target, args, kwargs));
            }
            case TestExpr t:
            {
                var target = Eval(t.Target, scope);
                var args = t.Args.Select(a => Eval(a, scope)).ToList();
                bool result = Wrap(t.Offset, () => JinjaBuiltins.Test(t.Name, target, args));
                return t.Negated ? !result : result;
            }
            case UnaryExpr u:
            {
                var operand = Eval(u.Operand, scope);
                return u.Op switch
                {
                    "not" => !Py.Truthy(operand),
                    "-" => Wrap(u.Offset, () => Py.IsInt(operand) ? Py.Int(-Py.ToBigInteger(operand)) : -Py.ToDouble(operand)),
                    _ => Wrap(u.Offset, () => Py.IsInt(operand) ? Py.Int(Py.ToBigInteger(operand)) : Py.ToDouble(operand)),
                };
            }
            case BinaryExpr b:
                if (b.Op == "and")
                {
                    var left = Eval(b.Left, scope);
                    return Py.Truthy(left) ? Eval(b.Right, scope) : left;
                }
                if (b.Op == "or")
                {
                    var left = Eval(b.Left, scope);
                    return Py.Truthy(left) ? left : Eval(b.Right, scope);
                }
                {
                    var left = Eval(b.Left, scope);
                    var right = Eval(b.Right, scope);
                    return Wrap(b.Offset, () => JinjaBuiltins.Binary(b.Op, left, right));
                }
            case CompareExpr c:
            {
                var left = Eval(c.First, scope);
                foreach (var (op, rightExpr) in c.Rest)
                {
                    var right = Eval(rightExpr, scope);
                    var l = left;
                    if (!Wrap(c.Offset, () => JinjaBuiltins.Compare(op, l, right))) return false;
                    left = right;
                }
                return true;
            }
            case CondExpr c:
                return Py.Truthy(Eval(c.Condition, scope)) ? Eval(c.Then, scope)
                    : c.Else is null ? new Undefined("conditional expression") : Eval(c.Else, scope);
            default:
                throw Error(expr.Offset, "unsupported expression");
        }
    }

    private object? EvalCall(CallExpr c, Scope scope)
    {
        var args = c.Args.Select(a => Eval(a, scope)).ToList();
        var kwargs = c.Kwargs.ToDictionary(k => k.Name, k => Eval(k.Value, scope));
        if (c.Callee is AttrExpr method)
        {
            var target = Eval(method.Target, scope);
            if (target is LoopInfo loopInfo && method.Name == "cycle")
                return args.Count == 0 ? null : args[loopInfo.Index0 % args.Count];
            if (target is string or List<object?> or Dictionary<object, object?>)
                return Wrap(c.Offset, () => JinjaBuiltins.CallMethod(target, method.Name, args, kwargs));
        }
        var callee = Eval(c.Callee, scope);
        if (callee is JinjaCallable f) return Wrap(c.Offset, () => f.Invoke(args, kwargs));
        throw Error(c.Offset, callee is Undefined u ? $"{u.Description} is undefined and cannot be called" : $"'{Py.TypeName(callee)}' object is not callable");
    }

    private object? GetAttr(object? target, string name, int offset)
    {
        switch (target)
        {
            case Dictionary<object, object?> d:
                return d.TryGetValue(name, out var v) ? v : new Undefined($"'dict object' has no attribute '{name}'");
            case Namespace ns:
                return ns.Values.TryGetValue(name, out var nv) ? nv : new Undefined($"namespace has no attribute '{name}'");
            case LoopInfo loop:
                return LoopAttr(loop, name) ?? new Undefined($"loop has no attribute '{name}'");
            case Undefined u:
                throw Error(offset, $"{u.Description} is undefined (reading attribute '{name}')");
            default:
                return new Undefined($"'{Py.TypeName(target)} object' has no attribute '{name}'");
        }
    }

    private static object? LoopAttr(LoopInfo loop, string name)
    {
        int i = loop.Index0, n = loop.Items.Count;
        return name switch
        {
            "index" => (long)(i + 1),
            "index0" => (long)i,
            "revindex" => (long)(n - i),
            "revindex0" => (long)(n - i - 1),
            "first" => i == 0,
            "last" => i == n - 1,
            "length" => (long)n,
            "depth" => 1L,
            "depth0" => 0L,
            "previtem" => i > 0 ? loop.Items[i - 1] : new Undefined("loop.previtem"),
            "nextitem" => i < n - 1 ? loop.Items[i + 1] : new Undefined("loop.nextitem"),
            _ => null,
        };
    }

    private object? GetItem(object? target, object? index, int offset)
    {
        switch (target)
        {
            case List<object?> list when index is long or bool:
            {
                long i = (long)Py.ToDouble(index);
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : new Undefined($"list object has no element {index}");
            }
            case string s when index is long:
            {
                var chars = Py.TextElements(s);
                long i = (long)index;
                if (i < 0) i += chars.Count;
                return i >= 0 && i < chars.Count ? chars[(int)i] : new Undefined($"str object has no element {index}");
            }
            case Dictionary<object, object?> d:
                return index is not null && d.TryGetValue(index, out var v) ? v : new Undefined($"'dict object' has no attribute {Py.Repr(index)}");
            case Undefined u:
                throw Error(offset, $"{u.Description} is undefined (reading item {Py.Repr(index)})");
            default:
                return index is string name ? GetAttr(target, name, offset) : new Undefined($"'{Py.TypeName(target)} object' has no element {Py.Repr(index)}");
        }
    }

    private object? Slice(object? target, object? start, object? stop, object? step, int offset)
    {
        List<object?> items = target switch
        {
            List<object?> l => l,
            string s => Py.TextElements(s),
            Undefined u => throw Error(offset, $"{u.Description} is undefined (slicing)"),
            _ => throw Error(offset, $"'{Py.TypeName(target)}' object is not subscriptable"),
        };
        int n = items.Count;
        int st = step is null ? 1 : (int)Py.ToDouble(step);
        if (st == 0) throw Error(offset, "slice step cannot be zero");
        int Norm(object? v, int fallback, bool isStop)
        {
            if (v is null) return fallback;
            int i = (int)Py.ToDouble(v);
            if (i < 0) i += n;
            return st > 0 ? Math.Clamp(i, 0, n) : Math.Clamp(i, -1, n - 1);
        }
        int a = Norm(start, st > 0 ? 0 : n - 1, false);
        int b = Norm(stop, st > 0 ? n : -1, true);
        var result = new List<object?>();
        for (int i = a; st > 0 ? i < b : i > b; i += st) result.Add(items[i]);
        return target is string ? string.Concat(result.Cast<string>()) : result;
    }

    private T Wrap<T>(int offset, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (IsEvaluationError(e))
        {
            throw Error(offset, e.Message);
        }
    }

    private static bool IsEvaluationError(Exception e) => e is InvalidOperationException or FormatException or OverflowException
        or DivideByZeroException or ArgumentException or InvalidCastException or IndexOutOfRangeException or KeyNotFoundException;

    private TokenizerException Error(int offset, string message) => JinjaError.At(_src, offset, message);

    private static List<object?> Range(List<object?> a)
    {
        long start = 0, stop, step = 1;
        if (a.Count == 1) stop = (long)Py.ToDouble(a[0]);
        else
        {
            start = (long)Py.ToDouble(a[0]);
            stop = (long)Py.ToDouble(a[1]);
            if (a.Count > 2) step = (long)Py.ToDouble(a[2]);
        }
        if (step == 0) throw new InvalidOperationException("range() arg 3 must not be zero");
        var result = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) result.Add(i);
        return result;
    }

    /// <summary>Python strftime for the common directives.</summary>
    internal static string Strftime(DateTime t, string format)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            char d = format[++i];
            if (d == '-' && i + 1 < format.Length)
            {
                // %-d, %-m, %-H: glibc's no-padding flag.
                char e = format[++i];
                int value = e switch { 'd' => t.Day, 'm' => t.Month, 'H' => t.Hour, 'M' => t.Minute, _ => 0 };
                sb.Append(value.ToString(inv));
                continue;
            }
            sb.Append(d switch
            {
                'd' => t.ToString("dd", inv),
                'm' => t.ToString("MM", inv),
                'Y' => t.ToString("yyyy", inv),
                'y' => t.ToString("yy", inv),
                'b' => t.ToString("MMM", inv),
                'B' => t.ToString("MMMM", inv),
                'a' => t.ToString("ddd", inv),
                'A' => t.ToString("dddd", inv),
                'H' => t.ToString("HH", inv),
                'I' => t.ToString("hh", inv),
                'M' => t.ToString("mm", inv),
                'S' => t.ToString("ss", inv),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'j' => t.DayOfYear.ToString("000", inv),
                                '%' => "%",
                _ => "%" + d,
            });
        }
        return sb.ToString();
    }
}
