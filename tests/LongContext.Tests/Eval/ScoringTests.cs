using LongContext.Eval.Niah;
using LongContext.Eval.Reports;
using LongContext.Eval.Scoring;

namespace LongContext.Tests.Eval;

public class ScoringTests
{
    [Fact]
    public void String_match_all_gives_partial_credit_and_part_gives_any_alias_full_credit()
    {
        string[] refs = ["1111111", "2222222", "3333333", "4444444"];
        Assert.Equal(100, Scorers.Match(MatchMetric.All, "1111111, 2222222, 3333333 and 4444444", refs));
        Assert.Equal(75, Scorers.Match(MatchMetric.All, "1111111 2222222 4444444", refs));
        Assert.Equal(0, Scorers.Match(MatchMetric.All, "none", refs));
        Assert.Equal(100, Scorers.Match(MatchMetric.Part, "It is PAINTED BLUE.", ["blue", "painted blue"]));
        Assert.Equal(0, Scorers.Match(MatchMetric.Part, "red", ["blue", "painted blue"]));
    }

    [Fact]
    public void Postprocess_strips_think_blocks_and_control_characters()
    {
        Assert.Equal("answer\nnext", Scorers.Postprocess("  <think>1234567 maybe</think> answer\tnext \u0001"));
        Assert.Equal(0, Scorers.Match(MatchMetric.All, "<think>the value is 1234567</think>I don't know", ["1234567"]));
    }

    [Fact]
    public void An_unfinished_think_block_does_not_wipe_the_visible_answer()
    {
        // The answer came first, then the model started thinking again and ran out of tokens.
        Assert.Equal(100, Scorers.Match(MatchMetric.All, "The value is 1234567. <think>let me double-check", ["1234567"]));
        Assert.Equal(100, Scorers.Match(MatchMetric.All, "<think>hmm</think> 1234567 <think>more", ["1234567"]));
        // The template opened <think> in the prompt: only the text after </think> is the answer.
        Assert.Equal("1234567", Scorers.Postprocess("the needle said 7654321 or maybe 1234567</think>1234567"));
        // Thinking that never finished has no visible answer, and says so.
        Assert.Equal("", Scorers.Postprocess("<think>the value might be 1234567"));
        Assert.True(Scorers.ThinkingUnfinished("<think>the value might be 1234567"));
        Assert.False(Scorers.ThinkingUnfinished("<think>a</think>b"));
    }

    [Fact]
    public void Echoing_the_prompt_is_detected_but_quoting_the_needle_is_not()
    {
        var prompt = "A special magic number is hidden within the following text. Make sure to memorize it.\n"
            + string.Join(" ", Enumerable.Repeat("The grass is green. The sky is blue. The sun is yellow.", 40))
            + " One of the special magic numbers for tidy-lamp is: 7654321. "
            + string.Join(" ", Enumerable.Repeat("Here we go. There and back again.", 40));
        Assert.True(EchoDetector.IsEcho(prompt, prompt));
        Assert.True(EchoDetector.IsEcho(prompt, "Sure: " + prompt[200..]));
        Assert.False(EchoDetector.IsEcho(prompt, "One of the special magic numbers for tidy-lamp is: 7654321."));
        Assert.False(EchoDetector.IsEcho(prompt, "7654321"));
    }

    [Fact]
    public void Weighted_averages_and_effective_length_match_the_published_Llama31_70B_row()
    {
        // RULER README: Llama3.1 (70B) 96.5 95.8 95.4 94.8 88.4 66.6 -> Avg 89.6, wAvg inc 85.5, dec 93.7, effective 64K.
        double[] s = [96.5, 95.8, 95.4, 94.8, 88.4, 66.6];
        Assert.Equal(89.6, RulerAggregate.Average(s), 1);
        Assert.Equal(85.5, RulerAggregate.WeightedAverage(s, increasing: true), 1);
        Assert.Equal(93.7, RulerAggregate.WeightedAverage(s, increasing: false), 1);
        int[] lengths = [4096, 8192, 16384, 32768, 65536, 131072];
        Assert.Equal(65536, RulerAggregate.EffectiveLength(lengths.Zip(s).ToList()));
        Assert.Null(RulerAggregate.EffectiveLength([(4096, 85.6)]));
    }

    [Fact]
    public void Depth_grids_are_linear_or_gkamradt_sigmoid_with_endpoints_kept()
    {
        Assert.Equal([0, 25, 50, 75, 100], NiahGrid.Depths(5, DepthSpacing.Linear));
        var sig = NiahGrid.Depths(35, DepthSpacing.Sigmoid);
        Assert.Equal(0, sig[0]);
        Assert.Equal(0.896, sig[1], 3);
        Assert.Equal(1.199, sig[2], 3);
        Assert.Equal(50, sig[17], 3);
        Assert.Equal(100, sig[34]);
    }

    [Fact]
    public void Lengths_parse_with_binary_k_and_m_suffixes()
    {
        Assert.Equal([1000, 4096, 131072, 1048576], NiahGrid.ParseLengths("4k, 1000,128K,1m"));
        Assert.Throws<ConfigException>(() => NiahGrid.ParseLengths("4x"));
    }

    [Theory]
    [InlineData("1.5k,0.5m", new[] { 1536, 524288 })]
    [InlineData("8k,4k,8K", new[] { 4096, 8192 })]
    public void Lengths_follow_the_shared_rules_decimals_only_when_whole(string spec, int[] expected) =>
        Assert.Equal(expected, NiahGrid.ParseLengths(spec));

    [Theory]
    [InlineData("1.3k", "1331.2 tokens")] // was silently rounded to 1331 before the rules were shared with `plan`
    [InlineData("4k,,8k", "item 2")]
    [InlineData("4G", "beyond what one prompt can hold")]
    public void Lengths_that_are_not_whole_token_counts_are_refused(string spec, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => NiahGrid.ParseLengths(spec));
        Assert.StartsWith("--lengths", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
