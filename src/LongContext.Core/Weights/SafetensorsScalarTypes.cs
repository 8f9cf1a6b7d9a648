using LongContext.Formats.Safetensors;
using static TorchSharp.torch;

namespace LongContext.Core.Weights;

/// <summary>Maps safetensors element types to TorchSharp's and back (the torch-free half lives in <see cref="SafetensorsDtypes"/>).</summary>
public static class SafetensorsScalarTypes
{
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
