using System.Text;
using LongContext.Core.Weights;

namespace LongContext.Tests.Weights;

public class SafetensorsValidationTests
{
    private static byte[] Build(string header, int dataBytes, ulong? headerLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        return [.. BitConverter.GetBytes(headerLength ?? (ulong)h.Length), .. h, .. new byte[dataBytes]];
    }

    private static CheckpointException Fails(byte[] bytes)
    {
        using var dir = new TempDir();
        var path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains("bad.safetensors", e.Message);
        return e;
    }

    private const string Two = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]}}""";

    [Fact]
    public void Truncated_data_names_the_tensor_and_suggests_redownload()
    {
        var e = Fails(Build(Two, 10));
        Assert.Contains("'b'", e.Message);
        Assert.Contains("re-download", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Files_shorter_than_the_length_prefix_are_refused(int length) => Fails(new byte[length]);

    [Fact]
    public void Header_length_past_the_end_of_file_is_refused() =>
        Assert.Contains("header length", Fails(Build(Two, 12, headerLength: 5000)).Message);

    [Fact]
    public void Huge_header_length_is_refused() =>
        Assert.Contains("limit", Fails(Build(Two, 12, headerLength: ulong.MaxValue)).Message);

    [Theory]
    [InlineData("""{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}""", "Q4")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", "'a'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "overlaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "gap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", "'a'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", "data_offsets")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2]}}""", "data_offsets")]
    [InlineData("""{"a":{"shape":[2],"data_offsets":[0,8]}}""", "dtype")]
    [InlineData("""{"a":[1,2]}""", "'a'")]
    [InlineData("""[1,2]""", "not a JSON object")]
    [InlineData("""{"a":""", "not valid JSON")]
    [InlineData("""{"__metadata__":{"format":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", "__metadata__")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", "too large")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "after the last tensor")]
    public void Malformed_headers_are_checkpoint_errors_naming_the_problem(string header, string expected)
    {
        Assert.Contains(expected, Fails(Build(header, 8)).Message);
    }

    [Fact]
    public void Header_padded_with_spaces_and_metadata_is_accepted()
    {
        using var dir = new TempDir();
        var path = dir.File("ok.safetensors");
        File.WriteAllBytes(path, Build("""{"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}    """, 3));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(3, file.GetInfo("a").ByteLength);
    }
}
