using System.Text;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Formats.Tokenization;

public class StreamDecoderTests
{
    [Theory]
    [InlineData("llama3", "Hello 😀 world, 中文 naïve\n\n  x1234")]
    [InlineData("llama2", "Hello 😀 world, 中文 naïve\n\n  x1234")]
    [InlineData("metaspace", "Hello world, naïve text")]
    public void Streamed_pieces_concatenate_to_full_decode(string fixture, string text)
    {
        var t = HfTokenizer.Load(TokenizerFixtures.Dir(fixture));
        var ids = t.Encode(text, addSpecialTokens: true);
        var stream = t.CreateStreamDecoder(skipSpecialTokens: true);
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            string? piece = stream.Push(id);
            Assert.False(piece?.Contains('\uFFFD') ?? false);
            sb.Append(piece);
        }
        Assert.Equal(t.Decode(ids, skipSpecialTokens: true), sb.ToString());
    }

    [Fact]
    public void Partial_utf8_is_held_back_until_the_character_completes()
    {
        var t = HfTokenizer.Load(TokenizerFixtures.Dir("llama3"));
        byte[] bytes = Encoding.UTF8.GetBytes("中"); // byte tokens have ids equal to byte values in this fixture
        var stream = t.CreateStreamDecoder();
        Assert.Equal("a", stream.Push(97));
        Assert.Null(stream.Push(bytes[0]));
        Assert.Null(stream.Push(bytes[1]));
        Assert.Equal("中", stream.Push(bytes[2]));
    }
}
