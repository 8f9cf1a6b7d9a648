using System.Text.RegularExpressions;

namespace LongContext.Eval.Scoring;

/// <summary>RULER's metrics (scripts/eval/synthetic/constants.py): case-insensitive substring match after strip and control-character clean-up.</summary>
public enum MatchMetric
{
    /// <summary>string_match_all: fraction of references found (partial credit).</summary>
    All,
    /// <summary>string_match_part: 1 if any reference is found (QA aliases).</summary>
    Part,
}

public static partial class Scorers
{
    [GeneratedRegex(@"[\x00-\x1f]")]
    private static partial Regex ControlChars();

    private const string ThinkOpen = "<think>", ThinkClose = "</think>";

    /// <summary>
    /// The visible answer of a reasoning model: the text after the last &lt;/think&gt; (also when the chat template opened
    /// the block in the prompt, so the output has no &lt;think&gt;), cut at a &lt;think&gt; that opens again. A block that
    /// never closes (the answer budget ran out while thinking) ends the visible text but does not erase what came
    /// before it.
    /// </summary>
    public static string VisibleAnswer(string prediction)
    {
        var close = prediction.LastIndexOf(ThinkClose, StringComparison.Ordinal);
        var visible = close >= 0 ? prediction[(close + ThinkClose.Length)..] : prediction;
        var open = visible.IndexOf(ThinkOpen, StringComparison.Ordinal);
        return open >= 0 ? visible[..open] : visible;
    }

    /// <summary>True when the response stopped inside a &lt;think&gt; block (raise --answer-budget).</summary>
    public static bool ThinkingUnfinished(string prediction)
    {
        var open = prediction.LastIndexOf(ThinkOpen, StringComparison.Ordinal);
        return open >= 0 && prediction.IndexOf(ThinkClose, open, StringComparison.Ordinal) < 0;
    }

    /// <summary>RULER's post-processing (strip, control characters to "\n", strip) of the visible answer.</summary>
    public static string Postprocess(string prediction)
    {
        var p = VisibleAnswer(prediction).Trim();
        return ControlChars().Replace(p, "\n").Trim();
    }

    /// <summary>Score of one prediction in 0..100 (RULER averages these per task).</summary>
    public static double Match(MatchMetric metric, string prediction, IReadOnlyList<string> references)
    {
        if (references.Count == 0) throw new ArgumentException("no references to score against");
        var pred = Postprocess(prediction).ToLowerInvariant();
        var hits = references.Count(r => pred.Contains(r.ToLowerInvariant(), StringComparison.Ordinal));
        return metric == MatchMetric.All ? 100.0 * hits / references.Count : (hits > 0 ? 100.0 : 0.0);
    }
}

/// <summary>
/// Detects a response that reproduces the prompt (RULER issue #54 / PR #77: prompt echo inflated scores). Such a
/// response contains every needle and must never be scored as correct.
/// </summary>
public static class EchoDetector
{
    private const int Window = 80;

    /// <summary>
    /// True when the response contains the prompt's opening (its first 80 characters, whitespace collapsed) or at least
    /// two of eight 80-character windows spread over the prompt. Needle sentences alone do not trigger it.
    /// </summary>
    public static bool IsEcho(string prompt, string response)
    {
        var p = Collapse(prompt);
        var r = Collapse(response);
        if (p.Length == 0 || r.Length == 0) return false;
        if (p.Length <= Window) return r.Contains(p, StringComparison.Ordinal);
        if (r.Contains(p[..Window], StringComparison.Ordinal)) return true;
        var hits = 0;
        for (var i = 1; i <= 8; i++)
        {
            var start = (int)((long)(p.Length - Window) * i / 9);
            if (r.Contains(p.Substring(start, Window), StringComparison.Ordinal) && ++hits >= 2) return true;
        }
        return false;
    }

    private static string Collapse(string s) => string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();
}
