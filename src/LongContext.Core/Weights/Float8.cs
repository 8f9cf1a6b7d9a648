using System.Runtime.InteropServices;
using static TorchSharp.torch;
using LongContext.Formats.Safetensors;

namespace LongContext.Core.Weights;

/// <summary>Decodes the OCP FP8 formats (E4M3FN: bias 7, no infinities; E5M2: bias 15, IEEE-like) to float32.</summary>
internal static unsafe class Float8
{
    private static readonly float[] E4M3 = BuildTable(exponentBits: 4, mantissaBits: 3, bias: 7, ieeeSpecials: false);
    private static readonly float[] E5M2 = BuildTable(exponentBits: 5, mantissaBits: 2, bias: 15, ieeeSpecials: true);

    public static float Decode(byte value, SafetensorsDtype dtype) =>
        (dtype == SafetensorsDtype.F8_E4M3 ? E4M3 : E5M2)[value];

    /// <summary>Decodes <paramref name="count"/> bytes into the contiguous float32 CPU tensor <paramref name="target"/>.</summary>
    public static void DecodeInto(byte* source, long count, SafetensorsDtype dtype, Tensor target)
    {
        var table = dtype == SafetensorsDtype.F8_E4M3 ? E4M3 : E5M2;
        using var flat = target.view(-1);
        const int chunk = SafetensorsFile.ChunkBytes / sizeof(float);
        for (long start = 0; start < count; start += chunk)
        {
            var n = (int)Math.Min(chunk, count - start);
            using var slice = flat.narrow(0, start, n);
            var output = MemoryMarshal.Cast<byte, float>(slice.bytes);
            var input = new ReadOnlySpan<byte>(source + start, n);
            for (var i = 0; i < n; i++)
            {
                output[i] = table[input[i]];
            }
        }
    }

    private static float[] BuildTable(int exponentBits, int mantissaBits, int bias, bool ieeeSpecials)
    {
        var table = new float[256];
        var maxExponent = (1 << exponentBits) - 1;
        var mantissaScale = 1 << mantissaBits;
        for (var b = 0; b < 256; b++)
        {
            var sign = (b & 0x80) != 0 ? -1.0 : 1.0;
            var exponent = (b >> mantissaBits) & maxExponent;
            var mantissa = b & (mantissaScale - 1);
            double magnitude;
            if (ieeeSpecials && exponent == maxExponent)
            {
                magnitude = mantissa == 0 ? double.PositiveInfinity : double.NaN;
            }
            else if (!ieeeSpecials && exponent == maxExponent && mantissa == mantissaScale - 1)
            {
                magnitude = double.NaN; // E4M3FN: S.1111.111 is NaN, there is no infinity
            }
            else if (exponent == 0)
            {
                magnitude = (double)mantissa / mantissaScale * Math.Pow(2, 1 - bias);
            }
            else
            {
                magnitude = (1 + (double)mantissa / mantissaScale) * Math.Pow(2, exponent - bias);
            }
            table[b] = (float)(sign * magnitude);
        }
        return table;
    }
}
