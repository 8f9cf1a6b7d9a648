using System.Text.Json;

namespace LongContext.Formats.Safetensors;

/// <summary>
/// Parses and validates a safetensors header the way the reference implementation does: a JSON object of
/// `name: {dtype, shape, data_offsets}` plus an optional `__metadata__` map of strings; every tensor's byte length
/// matches its shape and dtype, and the tensors tile the data area exactly (no overlap, no gap, nothing past it).
/// </summary>
public static class SafetensorsHeader
{
    /// <summary>Header size limit of the reference implementation (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    public static (Dictionary<string, SafetensorsTensorInfo> Tensors, List<string> Order, Dictionary<string, string> Metadata)
        Parse(byte[] header, long dataLength, string file)
    {
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            throw Corrupt(file, "its header is not valid UTF-8");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw Corrupt(file, $"its header is not valid JSON ({FirstLine(e.Message)})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Corrupt(file, "its header is not a JSON object");
            }
            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seenMetadata = false;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (seenMetadata)
                    {
                        throw Corrupt(file, $"its header has '{MetadataKey}' twice");
                    }
                    seenMetadata = true;
                    ReadMetadata(property.Value, metadata, file);
                    continue;
                }
                var info = ReadTensor(property.Name, property.Value, file);
                if (!tensors.TryAdd(info.Name, info))
                {
                    throw Corrupt(file, $"tensor '{info.Name}' appears twice in its header");
                }
            }

            var order = tensors.Values.OrderBy(t => t.DataStart).ThenBy(t => t.DataEnd).ToList();
            long expected = 0;
            foreach (var info in order)
            {
                if (info.DataStart < expected)
                {
                    throw Corrupt(file, $"tensor '{info.Name}' (bytes {info.DataStart}..{info.DataEnd}) overlaps the tensor before it");
                }
                if (info.DataStart > expected)
                {
                    throw Corrupt(file, $"tensor '{info.Name}' starts at byte {info.DataStart} of the data area, leaving a gap after byte {expected}");
                }
                if (info.DataEnd > dataLength)
                {
                    throw Corrupt(file, $"tensor '{info.Name}' ends at byte {info.DataEnd} but the data area has only {dataLength} bytes: "
                        + "file truncated? re-download it");
                }
                expected = info.DataEnd;
            }
            if (expected != dataLength)
            {
                throw Corrupt(file, $"its data area has {dataLength - expected} bytes after the last tensor (byte {expected})");
            }
            return (tensors, order.Select(t => t.Name).ToList(), metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string file)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Corrupt(file, $"its '{MetadataKey}' is not a JSON object of strings");
        }
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Corrupt(file, $"its '{MetadataKey}' entry '{entry.Name}' is not a string");
            }
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string name, JsonElement value, string file)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Corrupt(file, $"tensor '{name}' is not a JSON object with dtype, shape and data_offsets");
        }
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Corrupt(file, $"tensor '{name}' has no string 'dtype'");
        }
        var dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDtypes.TryParse(dtypeName, out var dtype))
        {
            throw new CheckpointException($"{file}: tensor '{name}' has dtype \"{dtypeName}\", which is not supported; supported: "
                + string.Join(", ", Enum.GetNames<SafetensorsDtype>()) + ".");
        }
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw Corrupt(file, $"tensor '{name}' has no list 'shape'");
        }
        var shape = new List<long>();
        long elements = 1;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var size) || size < 0)
            {
                throw Corrupt(file, $"tensor '{name}' has a shape entry that is not a non-negative integer: {Short(dim)}");
            }
            shape.Add(size);
            try
            {
                elements = checked(elements * size);
            }
            catch (OverflowException)
            {
                throw Corrupt(file, $"tensor '{name}' has a shape too large to address");
            }
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64Safe(out var start) || !offsets[1].TryGetInt64Safe(out var end)
            || start < 0 || end < start)
        {
            throw Corrupt(file, $"tensor '{name}' has no valid 'data_offsets' [begin, end]");
        }
        long bytes;
        try
        {
            bytes = checked(elements * dtype.ItemSize());
        }
        catch (OverflowException)
        {
            throw Corrupt(file, $"tensor '{name}' has a shape too large to address");
        }
        if (end - start != bytes)
        {
            throw Corrupt(file, $"tensor '{name}' of shape [{string.Join(", ", shape)}] and dtype {dtypeName} needs {bytes} bytes, "
                + $"but its data_offsets span {end - start}");
        }
        return new SafetensorsTensorInfo(name, dtype, shape, start, end);
    }

    private static bool TryGetInt64Safe(this JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }

    /// <summary>The error for a damaged file; SafetensorsFile reuses it for the data area.</summary>
    public static CheckpointException Corrupt(string file, string problem) =>
        new($"{file}: {problem}. The file is damaged or not safetensors (file truncated? re-download it).");

    private static string Short(JsonElement element)
    {
        var text = element.GetRawText();
        return text.Length > 40 ? text[..37] + "..." : text;
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n')[0];
        return line.Length > 200 ? line[..200] : line;
    }
}
