using LongContext.Core.Native;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

/// <summary>
/// OCP FP8 E4M3FN (bias 7, no infinities, 0x7F/0xFF = NaN, largest finite 448) held in uint8 tensors, without a
/// scale: a code's value is the stored value. TorchSharp 0.107 has no float8 dtype, so on CUDA with the add-on the
/// conversions are ATen's own float8_e4m3fn casts (one kernel each way); elsewhere they are plain tensor ops
/// (<see cref="EncodeMath"/>, <see cref="DecodeMath"/>: about a dozen fp32 passes) that give the same values and run
/// on any device and inside CUDA graphs. Encoding rounds to nearest (ties to even) like torch's cast, but saturates
/// at ±448 instead of producing NaN, which is what a KV cache wants.
/// </summary>
public static class Fp8E4M3
{
    public const double MaxFinite = 448;

    /// <summary>Whether the add-on's casts serve tensors on this device (CUDA with the add-on loaded).</summary>
    public static bool NativeApplies(Tensor t) => t.device_type == TorchSharp.DeviceType.CUDA && NativeAddon.IsAvailable;

    /// <summary>Codes of <paramref name="x"/> (any float dtype), same shape, uint8.</summary>
    public static Tensor Encode(Tensor x)
    {
        if (!NativeApplies(x)) return EncodeMath(x);
        NativeAddon.Check(NativeAddon.lc_fp8_e4m3_encode(x.Handle, out var codes), "fp8 encode");
        return NativeAddon.Adopt(codes);
    }

    /// <summary>Values of the codes in <paramref name="codes"/> (uint8) as <paramref name="dtype"/>.</summary>
    public static Tensor Decode(Tensor codes, ScalarType dtype)
    {
        if (!NativeApplies(codes)) return DecodeMath(codes, dtype);
        NativeAddon.Check(NativeAddon.lc_fp8_e4m3_decode(codes.Handle, (int)dtype, out var values), "fp8 decode");
        return NativeAddon.Adopt(values);
    }

    /// <summary><see cref="Encode"/> as tensor ops (the fallback, and the reference the self-test checks the add-on against).</summary>
    public static Tensor EncodeMath(Tensor x)
    {
        using var scope = NewDisposeScope();
        var a = x.to(ScalarType.Float32);
        var negative = a < 0;
        var nan = a.isnan();
        var v = a.abs().nan_to_num(0).clamp_max(MaxFinite);
        // Exponent of the leading bit, at least the subnormal exponent −6; quantum 2^(e−3) (3 mantissa bits).
        var e = v.log2().floor().clamp(-6, 8);
        var q = (v / (e - 3).exp2()).round();                       // 8…16 for normals, 0…8 for subnormals
        var carry = q >= 16;                                          // rounding reached the next binade
        e = e + carry.to(ScalarType.Float32);
        q = q.masked_fill(carry, 8);
        var normal = q >= 8;
        var exponent = (e + 7).masked_fill(normal.logical_not(), 0);
        var mantissa = q - normal.to(ScalarType.Float32) * 8;
        var code = exponent * 8 + mantissa + negative.to(ScalarType.Float32) * 128;
        code = code.masked_fill(nan, 127);
        return code.to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="Decode"/> as tensor ops.</summary>
    public static Tensor DecodeMath(Tensor codes, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var b = codes.to(ScalarType.Float32);
        var negative = b >= 128;
        b = b - negative.to(ScalarType.Float32) * 128;
        var exponent = (b / 8).floor();
        var mantissa = b - exponent * 8;
        var subnormal = exponent == 0;
        // Normal: (1 + m/8)·2^(E−7); subnormal: (m/8)·2^−6.
        var value = (mantissa / 8 + subnormal.logical_not().to(ScalarType.Float32)) * (exponent.clamp_min(1) - 7).exp2();
        value = value.masked_fill((exponent == 15) & (mantissa == 7), double.NaN);
        value = value.masked_fill(negative, 0) - value.masked_fill(negative.logical_not(), 0);
        return value.to(dtype).MoveToOuterDisposeScope();
    }
}
