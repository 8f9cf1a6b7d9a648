using LongContext.Eval.Backends;

namespace LongContext.Eval.Runs;

/// <summary>
/// A planned item: its identity (task, length, index) is known up front; the prompt is built only when the item has
/// not been done yet, so a resumed run skips generation too.
/// </summary>
public sealed record EvalItemPlan(string Suite, string Task, int Length, string Index, double? Depth, Func<EvalItem> Build)
{
    public string Key(string configHash) => $"{Suite}|{Task}|{Length}|{Index}|{configHash}";
}

/// <summary>A built item: the request, what the scorer needs, and the exact prompt text for echo detection.</summary>
public sealed record EvalItem(GenerationRequest Request, IReadOnlyList<string> References, Func<string, CancellationToken, Task<double>> Score, string PromptText, int PromptTokens)
{
    /// <summary>
    /// Score 0 when the response echoes the prompt (our own variants). False for benchmarks kept as published: RULER
    /// scores an echo like any answer (string_match_all), so the record is only flagged.
    /// </summary>
    public bool ZeroOnEcho { get; init; } = true;
    /// <summary>Why this item's prompt differs from the original benchmark's (e.g. a padded word list), or null.</summary>
    public string? NonComparable { get; init; }
    /// <summary>Suite-specific facts about the scored item (e.g. the extracted answer), stored in the record's "details"; called after <see cref="Score"/>.</summary>
    public Func<System.Text.Json.Nodes.JsonObject?>? Details { get; init; }
}
