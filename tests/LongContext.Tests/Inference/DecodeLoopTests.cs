using LongContext.Core.Inference;
using LongContext.Tests.Eval;

namespace LongContext.Tests.Inference;

/// <summary>The one decode loop's rules: stop ids, stop strings, the token limit and cancellation, on a scripted "model".</summary>
public class DecodeLoopTests
{
    readonly TestTokenizer tokenizer = new();

    /// <summary>A model that answers the scripted words in order (as ids of the test tokenizer); counts its steps.</summary>
    sealed class Script(TestTokenizer tokenizer, params string[] words)
    {
        readonly int[] ids = words.Select(w => tokenizer.Encode(w).Single()).ToArray();
        public int Steps { get; private set; }
        public int First => ids[0];
        public int Step(int _) => ids[++Steps];
    }

    static string Text(IEnumerable<DecodeLoop.Piece> pieces) => string.Concat(pieces.Select(p => p.Text));

    [Fact]
    public void A_stop_id_ends_generation_and_is_not_produced()
    {
        var script = new Script(tokenizer, "a", " ", "b", "<|eot_id|>", "c");
        var loop = new DecodeLoop(10, [tokenizer.Encode("<|eot_id|>").Single()], tokenizer: tokenizer);
        var pieces = loop.Run(script.First, script.Step).ToList();
        Assert.Equal("a b", Text(pieces));
        Assert.Equal(3, loop.Produced.Count);
        Assert.Equal(FinishReason.Stop, loop.Finish);
        Assert.Equal(3, script.Steps);
    }

    [Fact]
    public void A_stop_string_split_across_tokens_ends_generation_and_is_never_released()
    {
        var script = new Script(tokenizer, "one", " ", "two", "#", "#", "three", "four");
        var loop = new DecodeLoop(10, [], ["##"], tokenizer);
        var pieces = loop.Run(script.First, script.Step).ToList();
        Assert.Equal("one two", Text(pieces) + loop.Flush());
        Assert.Equal(5, loop.Produced.Count);                     // the token completing the stop string is produced
        Assert.Equal(FinishReason.Stop, loop.Finish);
        Assert.Equal(4, script.Steps);                            // nothing is decoded after the stop
    }

    [Fact]
    public void The_token_limit_ends_generation_without_an_extra_step_and_flush_releases_held_text()
    {
        var script = new Script(tokenizer, "x", "y", "z", "w");
        var loop = new DecodeLoop(3, [], ["yzq"], tokenizer);
        var text = Text(loop.Run(script.First, script.Step).ToList());
        Assert.Equal(FinishReason.Length, loop.Finish);
        Assert.Equal(3, loop.Produced.Count);
        Assert.Equal(2, script.Steps);
        Assert.Equal("xyz", text + loop.Flush());                // "yz" could have begun the stop string: held until the end
    }

    [Fact]
    public void Zero_new_tokens_produces_nothing()
    {
        var loop = new DecodeLoop(0, []);
        Assert.Empty(loop.Run(1, _ => throw new InvalidOperationException("no step expected")));
        Assert.Equal(FinishReason.Length, loop.Finish);
    }

    [Fact]
    public void Cancellation_stops_between_tokens()
    {
        using var cts = new CancellationTokenSource();
        var loop = new DecodeLoop(100, []);
        int steps = 0;
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (var _ in loop.Run(1, t => { if (++steps == 2) cts.Cancel(); return t; }, cts.Token)) { }
        });
        Assert.Equal(2, loop.Produced.Count);
        Assert.Null(loop.Finish);
    }
}
