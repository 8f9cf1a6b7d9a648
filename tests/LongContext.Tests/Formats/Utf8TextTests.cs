using LongContext.Formats;
using LongContext.Tests.Weights;

namespace LongContext.Tests.Formats;

public class Utf8TextTests
{
    [Fact]
    public void Keeps_a_leading_bom_and_line_endings()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("a.txt"), [0xEF, 0xBB, 0xBF, (byte)'x', (byte)'\r', (byte)'\n']);
        Assert.Equal("\uFEFFx\r\n", Utf8Text.ReadFile(dir.File("a.txt"), "--text-file a.txt"));
    }

    [Fact]
    public void Invalid_utf8_is_an_error_naming_the_byte()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("b.txt"), [(byte)'o', (byte)'k', 0xFF]);
        var e = Assert.Throws<ConfigException>(() => Utf8Text.ReadFile(dir.File("b.txt"), "--text-file b.txt"));
        Assert.Contains("--text-file b.txt: not valid UTF-8 at byte 2", e.Message);
        Assert.Throws<ConfigException>(() => Utf8Text.ReadFile(dir.File("missing.txt"), "--text-file missing.txt"));
    }
}
