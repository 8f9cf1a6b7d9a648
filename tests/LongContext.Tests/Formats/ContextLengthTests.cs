using LongContext.Formats;

namespace LongContext.Tests.Formats;

public class ContextLengthTests
{
    [Theory]
    [InlineData("1048576", 1_048_576L)]
    [InlineData("1M", 1_048_576L)]
    [InlineData("1m", 1_048_576L)]
    [InlineData("256K", 262_144L)]
    [InlineData("64k", 65_536L)]
    [InlineData(" 4M ", 4_194_304L)]
    [InlineData("1.5K", 1_536L)]
    [InlineData("0.5M", 524_288L)]
    [InlineData("1G", 1_073_741_824L)]
    [InlineData("1048K", 1_073_152L)] // Gradient's label, read literally: K is 1024
    public void Parses_counts_with_binary_suffixes(string text, long expected) =>
        Assert.Equal(expected, ContextLength.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("abc")]
    [InlineData("1X")]
    [InlineData("K")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.3K")]   // 1331.2 tokens
    [InlineData("2048G")]  // beyond 1024G
    [InlineData("1,000")]
    public void Rejects_what_is_not_a_positive_whole_count(string text)
    {
        var e = Assert.Throws<ConfigException>(() => ContextLength.Parse(text, "--target"));
        Assert.StartsWith("--target", e.Message);
    }

    [Fact]
    public void Parses_a_stage_list_and_names_the_bad_item()
    {
        Assert.Equal([65_536L, 262_144L, 1_048_576L], ContextLength.ParseList("64K, 256K,1M"));
        var e = Assert.Throws<ConfigException>(() => ContextLength.ParseList("64K,,1M", "--stages"));
        Assert.Contains("item 2", e.Message);
    }

    [Theory]
    [InlineData(65_536L, "64K")]
    [InlineData(1_048_576L, "1M")]
    [InlineData(524_288L, "512K")]
    [InlineData(1_536L, "1.5K")]
    [InlineData(1_000L, "1000")]
    [InlineData(4_194_304L, "4M")]
    public void Formats_the_shortest_exact_form_and_round_trips(long tokens, string text)
    {
        Assert.Equal(text, ContextLength.Format(tokens));
        Assert.Equal(tokens, ContextLength.Parse(text));
    }
}
