using LongContext.Core.Inference;

namespace LongContext.Tests.Inference;

public class StopSequenceMatcherTests
{
    static (string Text, bool Stopped) Run(IReadOnlyList<string> stops, params string[] pieces)
    {
        var m = new StopSequenceMatcher(stops);
        var text = "";
        foreach (var p in pieces)
        {
            text += m.Push(p);
            if (m.Stopped) return (text, true);
        }
        return (text + m.Flush(), false);
    }

    [Fact]
    public void Stop_split_across_pieces_is_found_and_never_emitted()
    {
        var m = new StopSequenceMatcher(["END"]);
        var first = m.Push("abcE");
        Assert.Equal("ab", first);
        var text = first + m.Push("N") + m.Push("Dxyz");
        Assert.True(m.Stopped);
        Assert.Equal("abc", text + m.Flush());
    }

    [Fact]
    public void Earliest_of_several_stops_wins() => Assert.Equal(("one ", true), Run(["three", "two"], "one two three"));

    [Fact]
    public void Without_a_stop_everything_is_emitted_after_flush() => Assert.Equal(("hello world", false), Run(["xyz"], "hel", "lo wo", "rld"));

    [Fact]
    public void No_stops_emits_each_piece_immediately()
    {
        var m = new StopSequenceMatcher([]);
        Assert.Equal("abc", m.Push("abc"));
    }

    [Fact]
    public void Held_back_text_never_ends_in_half_a_surrogate_pair()
    {
        var m = new StopSequenceMatcher(["ab"]);
        var emitted = m.Push("x\U0001F600");
        Assert.False(emitted.Length > 0 && char.IsHighSurrogate(emitted[^1]));
        Assert.Equal("x\U0001F600", emitted + m.Flush());
    }
}
