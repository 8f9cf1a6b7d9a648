using System.Globalization;
using LongContext.Eval.Runs;

namespace LongContext.Eval.Ruler;

/// <summary>
/// Whether a RULER run's numbers can be put beside published RULER tables: true only when everything that changes the
/// number matches RULER's setup, with every reason listed otherwise.
/// </summary>
public static class RulerComparability
{
    /// <summary>RULER's SEQ_LENGTHS (scripts/config_models.sh) and NUM_SAMPLES (config_tasks.sh).</summary>
    public static readonly IReadOnlyList<int> Lengths = [4096, 8192, 16384, 32768, 65536, 131072];
    public const int Samples = 500;

    /// <summary>Tasks whose data or prompts are not RULER's: from the plan's notes and from individual records.</summary>
    public static List<string> NonComparableTasks(RunManifest m, IReadOnlyList<ResultRecord> records) =>
        m.Tasks.Where(t => t.Available && !t.Comparable).Select(t => t.Task)
            .Concat(records.Where(r => r.NonComparable is not null).Select(r => r.Task)).Distinct().ToList();

    public static List<string> Reasons(RunManifest m, IReadOnlyList<ResultRecord> records)
    {
        var reasons = new List<string>();
        var skipped = m.Tasks.Where(t => !t.Available).Select(t => t.Task).ToList();
        var ran = m.Tasks.Count(t => t.Available);
        if (ran != 13) reasons.Add($"{ran} of RULER's 13 tasks ran" + (skipped.Count > 0 ? $" (skipped: {string.Join(", ", skipped)})" : ""));
        foreach (var t in m.Tasks.Where(t => t.Available && !t.Comparable))
            reasons.Add($"{t.Task}: {t.Note}");
        foreach (var g in records.Where(r => r.NonComparable is not null).GroupBy(r => (r.Task, r.Length)))
            reasons.Add($"{g.Key.Task} at {g.Key.Length}: {g.First().NonComparable} ({g.Count()} items)");
        var errors = records.Count(r => r.Error is not null);
        if (errors > 0) reasons.Add($"{errors} of {records.Count} items failed (each counts as 0; rerun to retry them)");
        if (m.PrefixPlacement != "assistant_turn")
            reasons.Add("answer prefix at the end of the user message (RULER's path for API models); RULER's open-model numbers put it after the assistant header (--mode completions with the model's template)");
        var samples = m.Config["samples"]?.GetValue<int>();
        if (samples is int s && s != Samples) reasons.Add($"{s} samples per task and length (RULER: {Samples})");
        var planned = samples is int n ? n * ran * m.Lengths.Count : (int?)null;
        if (planned is int p && records.Count < p) reasons.Add($"incomplete: {records.Count} of {p} items recorded");
        var foreign = m.Lengths.Where(l => !Lengths.Contains(l)).ToList();
        if (foreign.Count > 0) reasons.Add($"lengths {string.Join(", ", foreign.Select(F))} are not RULER's ({string.Join(", ", Lengths.Select(F))})");
        var missing = Lengths.Where(l => !m.Lengths.Contains(l)).ToList();
        if (missing.Count > 0) reasons.Add($"Avg and wAvg cover {Lengths.Count - missing.Count} of RULER's 6 lengths (missing {string.Join(", ", missing.Select(F))})");
        return reasons;
    }

    private static string F(int n) => n % 1024 == 0 ? $"{n / 1024}K" : n.ToString(CultureInfo.InvariantCulture);
}
