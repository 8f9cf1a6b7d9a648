using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using LongContext.Core.Weights;
using TorchSharp;
using static TorchSharp.torch;
using LongContext.Formats.Safetensors;

namespace LongContext.Tests.Weights;

public class SafetensorsRoundTripTests
{
    public static TheoryData<ScalarType> AllTypes => new(
        ScalarType.Float64, ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
        ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool);

    /// <summary>A tensor whose bytes are random bit patterns (NaN payloads and subnormals included).</summary>
    private static Tensor RandomBits(ScalarType type, long[] shape, int seed)
    {
        var t = empty(shape, type);
        var bytes = new byte[t.NumberOfElements * t.ElementSize];
        new Random(seed).NextBytes(bytes);
        if (type == ScalarType.Bool)
        {
            for (var i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        }
        t.bytes = bytes;
        return t;
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Write_then_read_is_bit_exact_for_every_dtype(ScalarType type)
    {
        using var dir = new TempDir();
        var a = RandomBits(type, [3, 5], 1);
        var scalar = RandomBits(type, [], 2);
        var empty0 = RandomBits(type, [0, 4], 3);
        var path = dir.File("t.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = a, ["s"] = scalar, ["e"] = empty0 });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["a", "e", "s"], file.Names.Order());
        Assert.Equal(SafetensorsScalarTypes.FromScalarType(type), file.GetInfo("a").Dtype);
        Assert.Equal([3L, 5L], file.GetInfo("a").Shape);
        Assert.Empty(file.GetInfo("s").Shape);
        using var back = file.LoadTensor("a");
        Assert.Equal(type, back.dtype);
        Assert.Equal(a.shape, back.shape);
        Assert.True(a.bytes.SequenceEqual(back.bytes));
        Assert.True(a.bytes.SequenceEqual(file.GetBytes("a")));
        using var backScalar = file.LoadTensor("s");
        Assert.Equal(0, backScalar.dim());
        Assert.True(scalar.bytes.SequenceEqual(backScalar.bytes));
        using var backEmpty = file.LoadTensor("e");
        Assert.Equal([0L, 4L], backEmpty.shape);
    }

    [Fact]
    public void Bf16_values_survive_and_convert_to_float32_on_load()
    {
        using var dir = new TempDir();
        var values = tensor(new[] { 1.5f, -2.0f, 3.140625f, 65280f }).to(ScalarType.BFloat16);
        var path = dir.File("b.safetensors");
        SafetensorsWriter.Write(path, [new("w", values)]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal([0xC0, 0x3F, 0x00, 0xC0], file.GetBytes("w")[..4].ToArray()); // 1.5 = 0x3FC0, -2 = 0xC000
        using var f32 = file.LoadTensor("w", ScalarType.Float32);
        Assert.Equal([1.5f, -2.0f, 3.140625f, 65280f], f32.data<float>().ToArray());
    }

    [Fact]
    public void Float_dtype_option_converts_floats_only()
    {
        using var dir = new TempDir();
        var path = dir.File("c.safetensors");
        SafetensorsWriter.Write(path, [new("f", tensor(new[] { 0.5f, 1.25f })), new("i", tensor(new long[] { 7, 8 }))],
            floatDtype: ScalarType.BFloat16);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(SafetensorsDtype.BF16, file.GetInfo("f").Dtype);
        Assert.Equal(SafetensorsDtype.I64, file.GetInfo("i").Dtype);
    }

    [Fact]
    public void Writer_layout_matches_the_safetensors_format()
    {
        using var dir = new TempDir();
        var path = dir.File("l.safetensors");
        SafetensorsWriter.Write(path, [new("b.small", tensor(new short[] { 1 })), new("a.big", tensor(new double[] { 2.0, 3.0 }))]);
        var bytes = File.ReadAllBytes(path);
        var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"}", header);
        Assert.Equal(header.TrimEnd(' ').Length + (header.Length - header.TrimEnd(' ').Length), header.Length);
        using var doc = JsonDocument.Parse(header);
        // 8-byte elements first, so every tensor is aligned to its element size.
        var big = doc.RootElement.GetProperty("a.big").GetProperty("data_offsets");
        var small = doc.RootElement.GetProperty("b.small").GetProperty("data_offsets");
        Assert.Equal((0, 16), (big[0].GetInt64(), big[1].GetInt64()));
        Assert.Equal((16, 18), (small[0].GetInt64(), small[1].GetInt64()));
        Assert.Equal("F64", doc.RootElement.GetProperty("a.big").GetProperty("dtype").GetString());
        Assert.Equal(8 + n + 18, bytes.Length);
        Assert.Equal(2.0, BitConverter.ToDouble(bytes, (int)(8 + n)));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Hand_made_file_parses_to_the_expected_values()
    {
        using var dir = new TempDir();
        var header = """{"__metadata__":{"format":"pt","note":"hand"},"x":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"y":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"z":{"dtype":"I8","shape":[3],"data_offsets":[12,15]}}""";
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var data = new List<byte>();
        data.AddRange(BitConverter.GetBytes((ulong)headerBytes.Length));
        data.AddRange(headerBytes);
        data.AddRange(BitConverter.GetBytes(0.25f));
        data.AddRange(BitConverter.GetBytes(-8.0f));
        data.AddRange(new byte[] { 0x80, 0x3F, 0x40, 0xC0 }); // bf16 1.0, -3.0
        data.AddRange(new byte[] { 0xFF, 0x7F, 0x05 }); // -1, 127, 5
        var path = dir.File("hand.safetensors");
        File.WriteAllBytes(path, [.. data]);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("hand", file.Metadata["note"]);
        Assert.Equal(["x", "y", "z"], file.Names);
        using var x = file.LoadTensor("x");
        Assert.Equal([2L, 1L], x.shape);
        Assert.Equal([0.25f, -8.0f], x.data<float>().ToArray());
        using var y = file.LoadTensor("y", ScalarType.Float32);
        Assert.Equal([1.0f, -3.0f], y.data<float>().ToArray());
        using var z = file.LoadTensor("z", ScalarType.Int64);
        Assert.Equal([-1L, 127L, 5L], z.data<long>().ToArray());
    }

    [Fact]
    public void Fp8_tensors_decode_to_float32()
    {
        using var dir = new TempDir();
        // E4M3FN: 0x38 = 1.0, 0x7E = 448 (max), 0x01 = 2^-9, 0xB8 = -1.0, 0x7F = NaN.
        // E5M2 is the high byte of IEEE half: 0x3C = 1.0, 0x7B = 57344, 0x7C = inf.
        var e4 = new byte[] { 0x38, 0x7E, 0x01, 0xB8, 0x7F };
        var e5 = new byte[] { 0x3C, 0x7B, 0x7C, 0x01 };
        var header = Encoding.UTF8.GetBytes("""{"a":{"dtype":"F8_E4M3","shape":[5],"data_offsets":[0,5]},"b":{"dtype":"F8_E5M2","shape":[4],"data_offsets":[5,9]}}""");
        var path = dir.File("fp8.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. e4, .. e5]);
        using var file = SafetensorsFile.Open(path);
        var a = file.LoadTensor("a").data<float>().ToArray();
        Assert.Equal([1.0f, 448f, MathF.Pow(2, -9), -1.0f], a[..4]);
        Assert.True(float.IsNaN(a[4]));
        var b = file.LoadTensor("b").data<float>().ToArray();
        var expected = e5.Select(v => (float)BitConverter.Int16BitsToHalf((short)(v << 8))).ToArray();
        Assert.Equal(expected, b);
        Assert.Equal(ScalarType.BFloat16, file.LoadTensor("a", ScalarType.BFloat16).dtype);
    }

    [Fact]
    public void Chunked_copies_cover_every_element_in_both_directions()
    {
        // Chunks of 12 bytes (3 int32) over 10 elements: four copies, the last one partial.
        var source = arange(10, dtype: ScalarType.Int32);
        using var stream = new MemoryStream();
        SafetensorsWriter.WriteTensorBytes(stream, source, ScalarType.Int32, chunkBytes: 12);
        var bytes = stream.ToArray();
        Assert.Equal(40, bytes.Length);
        var target = zeros(new long[] { 2, 5 }, ScalarType.Int32);
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(bytes, System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            SafetensorsFile.CopyToTensor(handle.AddrOfPinnedObject(), bytes.Length, target, chunkBytes: 12);
        }
        finally
        {
            handle.Free();
        }
        Assert.Equal(Enumerable.Range(0, 10).ToArray(), target.data<int>().ToArray());
    }

    [Fact]
    public void Missing_tensor_name_is_a_checkpoint_error()
    {
        using var dir = new TempDir();
        var path = dir.File("m.safetensors");
        SafetensorsWriter.Write(path, [new("a", ones(2))]);
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<CheckpointException>(() => file.LoadTensor("nope"));
        Assert.Contains("'nope'", e.Message);
        Assert.Contains("m.safetensors", e.Message);
    }
}
