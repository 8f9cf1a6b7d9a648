namespace LongContext.Core.Inference;

/// <summary>
/// Finds stop strings in streamed text. Text is released only once no stop string can still start in it: the last
/// (longest stop − 1) characters are held back, so a stop split across tokens is still caught and never sent.
/// </summary>
public sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    readonly int holdback = stops.Count == 0 ? 0 : stops.Max(s => s.Length) - 1;
    string pending = "";

    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns what is safe to emit (up to, not including, a stop string once found).</summary>
    public string Push(string piece)
    {
        if (Stopped) return "";
        pending += piece;
        int cut = -1;
        foreach (var stop in stops)
        {
            int at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0)
        {
            Stopped = true;
            var before = pending[..cut];
            pending = "";
            return before;
        }
        int release = pending.Length - Math.Min(holdback, pending.Length);
        if (release > 0 && char.IsHighSurrogate(pending[release - 1])) release--;
        var emit = pending[..release];
        pending = pending[release..];
        return emit;
    }

    /// <summary>The held-back tail, once generation ended without a stop string.</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : pending;
        pending = "";
        return rest;
    }
}
