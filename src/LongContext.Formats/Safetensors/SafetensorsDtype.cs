namespace LongContext.Formats.Safetensors;

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
}
