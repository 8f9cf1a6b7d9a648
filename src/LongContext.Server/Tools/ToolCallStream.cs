namespace LongContext.Server.Tools;

/// <summary>
/// Streams an answer's text as it is generated while holding back whatever may be a tool call, so call markup never
/// reaches a client as content. Hermes: text before a &lt;tool_call&gt; flows (minus a tail that could begin the tag),
/// everything from the tag on is held. Formats whose calls make up the whole answer (Llama 3 JSON, Mistral): the first
/// non-blank text decides — a call's opening is held to the end, anything else flows. <see cref="Finish"/> parses what
/// was held: the calls, and the held text that turned out to be content. One per answer; not thread-safe.
/// </summary>
public sealed class ToolCallStream(ToolCallFormat format)
{
    readonly System.Text.StringBuilder held = new();
    string pending = "";
    bool holding, decided;

    /// <summary>Adds generated text; returns the part that is certainly content (may be empty).</summary>
    public string Push(string piece)
    {
        if (holding)
        {
            held.Append(piece);
            return "";
        }
        pending += piece;
        return format.CallsOnlyAtStart ? PushAtStart() : PushAnywhere();
    }

    string PushAtStart()
    {
        if (decided)
        {
            var text = pending;
            pending = "";
            return text;
        }
        var start = pending.TrimStart();
        if (start.Length == 0) return "";
        if (format.StartMarkers.Any(m => start.StartsWith(m, StringComparison.Ordinal))) return Hold(0);
        if (format.StartMarkers.Any(m => m.StartsWith(start, StringComparison.Ordinal))) return "";   // could still become a marker
        decided = true;
        return PushAtStart();
    }

    string PushAnywhere()
    {
        var marker = format.StartMarkers[0];
        int at = pending.IndexOf(marker, StringComparison.Ordinal);
        if (at >= 0) return Hold(at);
        // Keep the longest tail that is a beginning of the marker: the next piece may complete it.
        int keep = 0;
        for (int n = Math.Min(marker.Length - 1, pending.Length); n > 0; n--)
            if (marker.StartsWith(pending[^n..], StringComparison.Ordinal))
            {
                keep = n;
                break;
            }
        var text = pending[..^keep];
        pending = pending[^keep..];
        return text;
    }

    string Hold(int at)
    {
        holding = true;
        held.Append(pending[at..]);
        var before = pending[..at];
        pending = "";
        return before;
    }

    /// <summary>At the end of the answer: the calls found in the held text, and whatever held text is content after all.</summary>
    public ToolCallParse Finish()
    {
        var rest = pending + held;
        pending = "";
        held.Clear();
        if (!holding) return new ToolCallParse(rest.Length == 0 ? null : rest, []);
        var parse = format.Parse(rest);
        return parse.Calls.Count > 0 ? parse : new ToolCallParse(rest, []);
    }
}
