namespace LongContext.Formats.ChatTemplates;

/// <summary>Template statements. Offset is the source position used in error messages.</summary>
internal abstract record Node(int Offset);
internal sealed record TextNode(string Text, int Offset) : Node(Offset);
internal sealed record OutputNode(Expr Value, int Offset) : Node(Offset);
internal sealed record IfNode(List<(Expr Condition, List<Node> Body)> Branches, List<Node>? Else, int Offset) : Node(Offset);
internal sealed record ForNode(List<string> Targets, Expr Iterable, Expr? Filter, List<Node> Body, List<Node>? Else, int Offset) : Node(Offset);
/// <summary>{% set a = v %}, {% set a, b = v %} or {% set ns.attr = v %} (Attribute set).</summary>
internal sealed record SetNode(List<string> Targets, string? Attribute, Expr Value, int Offset) : Node(Offset);
internal sealed record SetBlockNode(string Target, List<Node> Body, int Offset) : Node(Offset);
internal sealed record MacroNode(string Name, List<(string Name, Expr? Default)> Parameters, List<Node> Body, int Offset) : Node(Offset);
internal sealed record BreakNode(int Offset) : Node(Offset);
internal sealed record ContinueNode(int Offset) : Node(Offset);

/// <summary>Expressions.</summary>
internal abstract record Expr(int Offset);
internal sealed record LiteralExpr(object? Value, int Offset) : Expr(Offset);
internal sealed record NameExpr(string Name, int Offset) : Expr(Offset);
internal sealed record ListExpr(List<Expr> Items, int Offset, bool IsTuple = false) : Expr(Offset);
internal sealed record DictExpr(List<(Expr Key, Expr Value)> Items, int Offset) : Expr(Offset);
internal sealed record AttrExpr(Expr Target, string Name, int Offset) : Expr(Offset);
internal sealed record ItemExpr(Expr Target, Expr Index, int Offset) : Expr(Offset);
internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Offset) : Expr(Offset);
internal sealed record CallExpr(Expr Callee, List<Expr> Args, List<(string Name, Expr Value)> Kwargs, int Offset) : Expr(Offset);
internal sealed record FilterExpr(Expr Target, string Name, List<Expr> Args, List<(string Name, Expr Value)> Kwargs, int Offset) : Expr(Offset);
internal sealed record TestExpr(Expr Target, string Name, List<Expr> Args, bool Negated, int Offset) : Expr(Offset);
internal sealed record UnaryExpr(string Op, Expr Operand, int Offset) : Expr(Offset);
internal sealed record BinaryExpr(string Op, Expr Left, Expr Right, int Offset) : Expr(Offset);
internal sealed record CompareExpr(Expr First, List<(string Op, Expr Right)> Rest, int Offset) : Expr(Offset);
internal sealed record CondExpr(Expr Condition, Expr Then, Expr? Else, int Offset) : Expr(Offset);
