using System.Buffers.Binary;
using System.Text;
using LongContext.Core.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Weights;

/// <summary>Damaged files must fail with <see cref="CheckpointException"/> only: no other exception, crash or hang.</summary>
public class SafetensorsFuzzTests
{
    private static byte[] ValidFile(TempDir dir)
    {
        var path = dir.File("valid.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor>
        {
            ["w"] = arange(6, dtype: ScalarType.Float32).reshape(2, 3),
            ["b"] = ones(4, dtype: ScalarType.BFloat16),
            ["i"] = tensor(new long[] { 1, 2 }),
            ["m"] = tensor(new[] { true, false, true }),
        });
        return File.ReadAllBytes(path);
    }

    /// <summary>Opens the bytes and reads every tensor; returns false when a CheckpointException was thrown.</summary>
    private static bool OpenAndReadAll(string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        try
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var name in file.Names)
            {
                using var scope = torch.NewDisposeScope();
                file.LoadTensor(name, ScalarType.Float32);
                _ = file.GetBytes(name).Length;
            }
            return true;
        }
        catch (CheckpointException)
        {
            return false;
        }
    }

    [Fact]
    public void Truncation_at_every_length_fails_cleanly()
    {
        using var dir = new TempDir();
        var valid = ValidFile(dir);
        var path = dir.File("cut.safetensors");
        Assert.True(OpenAndReadAll(path, valid));
        for (var length = 0; length < valid.Length; length++)
        {
            Assert.False(OpenAndReadAll(path, valid[..length]), $"a file cut to {length} of {valid.Length} bytes was accepted");
        }
    }

    [Fact]
    public void Random_mutations_only_ever_throw_checkpoint_exceptions()
    {
        using var dir = new TempDir();
        var valid = ValidFile(dir);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        var path = dir.File("fuzz.safetensors");
        var random = new Random(12345);
        var accepted = 0;
        for (var iteration = 0; iteration < 3000; iteration++)
        {
            var bytes = (byte[])valid.Clone();
            switch (iteration % 5)
            {
                case 0: // flip random header bytes
                    for (var k = random.Next(1, 4); k > 0; k--)
                    {
                        bytes[8 + random.Next(headerLength)] = (byte)random.Next(256);
                    }
                    break;
                case 1: // printable substitutions keep more mutants parseable as JSON
                    const string alphabet = "0123456789[]{}\":,-. eE";
                    for (var k = random.Next(1, 3); k > 0; k--)
                    {
                        bytes[8 + random.Next(headerLength)] = (byte)alphabet[random.Next(alphabet.Length)];
                    }
                    break;
                case 2: // random header length
                    var fake = random.Next(3) switch
                    {
                        0 => (ulong)random.Next(0, valid.Length + 16),
                        1 => (ulong)random.NextInt64(),
                        _ => ulong.MaxValue - (ulong)random.Next(1000),
                    };
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes, fake);
                    break;
                case 3: // random JSON-ish header with random data
                    var json = Encoding.UTF8.GetBytes(RandomHeader(random));
                    bytes = [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. new byte[random.Next(0, 64)]];
                    break;
                default: // truncate or extend at a random point
                    bytes = random.Next(2) == 0
                        ? bytes[..random.Next(bytes.Length)]
                        : [.. bytes, .. new byte[random.Next(1, 16)]];
                    break;
            }
            if (OpenAndReadAll(path, bytes))
            {
                accepted++;
            }
        }
        // Some mutants stay valid (e.g. a changed byte inside a name); most must be rejected.
        Assert.InRange(accepted, 1, 2000);
    }

    private static string RandomHeader(Random random)
    {
        string[] dtypes = ["F32", "BF16", "I8", "BOOL", "F8_E4M3", "X", "F64"];
        var sb = new StringBuilder("{");
        var offset = 0L;
        var count = random.Next(0, 4);
        for (var i = 0; i < count; i++)
        {
            if (i > 0) sb.Append(',');
            var dims = Enumerable.Range(0, random.Next(0, 3)).Select(_ => random.Next(3) == 0 ? random.NextInt64(-5, long.MaxValue) : random.Next(0, 5)).ToList();
            var length = random.Next(3) == 0 ? random.Next(-4, 40) : dims.Aggregate(1L, (a, b) => a * Math.Max(b, 0)) * 4;
            sb.Append($"\"t{i}\":{{\"dtype\":\"{dtypes[random.Next(dtypes.Length)]}\",\"shape\":[{string.Join(",", dims)}],\"data_offsets\":[{offset},{offset + length}]}}");
            offset += random.Next(2) == 0 ? length : random.Next(-3, 3);
        }
        sb.Append('}');
        if (random.Next(4) == 0) sb.Length -= random.Next(1, sb.Length);
        return sb.ToString();
    }
}
