namespace LongContext.Formats.Safetensors;

/// <summary>One tensor's header entry. Offsets are relative to the data area (after the header), end exclusive.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDtype Dtype, IReadOnlyList<long> Shape, long DataStart, long DataEnd)
{
    public long ByteLength => DataEnd - DataStart;

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public long[] ShapeArray() => [.. Shape];
}
