using static TorchSharp.torch;

namespace LongContext.Core.Weights;

/// <summary>The element types of the safetensors format that we read (names as in the file header).</summary>
public enum SafetensorsDtype
{
    F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2,
}

public static class SafetensorsDtypes
{
    public static int ItemSize(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.F64 or SafetensorsDtype.I64 => 8,
        SafetensorsDtype.F32 or SafetensorsDtype.I32 => 4,
        SafetensorsDtype.F16 or SafetensorsDtype.BF16 or SafetensorsDtype.I16 => 2,
        _ => 1,
    };

    /// <summary>The header spelling ("BF16", "F8_E4M3").</summary>
    public static string HeaderName(this SafetensorsDtype dtype) => dtype.ToString();

    public static bool TryParse(string name, out SafetensorsDtype dtype)
    {
        // Enum.TryParse accepts numbers and other casings: only the exact header spellings count.
        foreach (var value in Enum.GetValues<SafetensorsDtype>())
        {
            if (value.ToString() == name)
            {
                dtype = value;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>The TorchSharp type holding these bytes as they are; null for FP8, which TorchSharp 0.107 lacks.</summary>
    public static ScalarType? ToScalarType(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.F64 => ScalarType.Float64,
        SafetensorsDtype.F32 => ScalarType.Float32,
        SafetensorsDtype.F16 => ScalarType.Float16,
        SafetensorsDtype.BF16 => ScalarType.BFloat16,
        SafetensorsDtype.I64 => ScalarType.Int64,
        SafetensorsDtype.I32 => ScalarType.Int32,
        SafetensorsDtype.I16 => ScalarType.Int16,
        SafetensorsDtype.I8 => ScalarType.Int8,
        SafetensorsDtype.U8 => ScalarType.Byte,
        SafetensorsDtype.BOOL => ScalarType.Bool,
        _ => null,
    };

    public static SafetensorsDtype FromScalarType(ScalarType type) => type switch
    {
        ScalarType.Float64 => SafetensorsDtype.F64,
        ScalarType.Float32 => SafetensorsDtype.F32,
        ScalarType.Float16 => SafetensorsDtype.F16,
        ScalarType.BFloat16 => SafetensorsDtype.BF16,
        ScalarType.Int64 => SafetensorsDtype.I64,
        ScalarType.Int32 => SafetensorsDtype.I32,
        ScalarType.Int16 => SafetensorsDtype.I16,
        ScalarType.Int8 => SafetensorsDtype.I8,
        ScalarType.Byte => SafetensorsDtype.U8,
        ScalarType.Bool => SafetensorsDtype.BOOL,
        _ => throw new CheckpointException($"Tensors of type {type} cannot be stored in safetensors by this writer; "
            + "convert them to a real floating-point or integer type first."),
    };
}
