using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using LongContext.Formats.Safetensors;

namespace LongContext.Core.Weights;

/// <summary>Where <see cref="SafetensorsWriter.WriteSharded"/> put each tensor.</summary>
public sealed record SafetensorsShardingResult(IReadOnlyList<string> Files, IReadOnlyDictionary<string, string> WeightMap, long TotalSize);

/// <summary>
/// Writes tensors in the safetensors layout that transformers loads: u64 little-endian header length, a JSON header
/// with `__metadata__: {"format": "pt"}` padded with spaces to a multiple of 8, then the tensors' bytes (ordered by
/// element size, largest first, then by name, so each is aligned). Streams: only one tensor's host copy exists at a
/// time. Files are written to `X.tmp` and renamed.
/// </summary>
public static class SafetensorsWriter
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private static readonly IReadOnlyDictionary<string, string> DefaultMetadata = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>
    /// Writes one safetensors file. <paramref name="floatDtype"/>, when given, converts floating-point tensors
    /// (e.g. to bfloat16) as they are written; integer and bool tensors keep their type. <paramref name="through"/>,
    /// when given, is handed each file's final path and stream and returns the stream to write through (to hash the
    /// bytes as they are written); it must not close the file stream.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, ScalarType? floatDtype = null, Func<string, Stream, Stream>? through = null)
    {
        var entries = Plan(tensors, floatDtype);
        var tmp = path + ".tmp";
        WriteFile(tmp, path, entries, metadata ?? DefaultMetadata, through);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>
    /// Writes a model folder's weights: `model.safetensors` when everything fits in <paramref name="maxShardBytes"/>,
    /// else `model-0000K-of-0000N.safetensors` shards (filled in the given order, a new shard when the next tensor
    /// would overflow) plus `model.safetensors.index.json` ({"metadata": {"total_size"}, "weight_map"}). Weight files
    /// of an earlier save that this one does not use are removed.
    /// </summary>
    public static SafetensorsShardingResult WriteSharded(string directory, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        long maxShardBytes, ScalarType? floatDtype = null, IReadOnlyDictionary<string, string>? metadata = null,
        Func<string, Stream, Stream>? through = null)
    {
        if (maxShardBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxShardBytes), "must be positive");
        }
        var planned = Plan(tensors, floatDtype);
        var shards = new List<List<Entry>>();
        long current = 0;
        foreach (var entry in planned)
        {
            if (shards.Count == 0 || (current > 0 && current + entry.ByteLength > maxShardBytes))
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(entry);
            current += entry.ByteLength;
        }
        if (shards.Count == 0)
        {
            shards.Add([]);
        }

        Directory.CreateDirectory(directory);
        var names = shards.Count == 1
            ? [SingleFileName]
            : Enumerable.Range(1, shards.Count).Select(i => $"model-{i:D5}-of-{shards.Count:D5}.safetensors").ToList();
        var stale = Directory.EnumerateFiles(directory, "model*.safetensors*")
            .Select(f => Path.GetFileName(f))
            .Where(f => (f == SingleFileName || f == IndexFileName || IsShardName(f)) && !names.Contains(f))
            .ToList();
        if (shards.Count > 1 && stale.Remove(SingleFileName))
        {
            // transformers prefers model.safetensors over an index: an old one must not outlive this save.
            File.Delete(Path.Combine(directory, SingleFileName));
        }

        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < shards.Count; i++)
        {
            WriteFile(Path.Combine(directory, names[i] + ".tmp"), Path.Combine(directory, names[i]), shards[i], metadata ?? DefaultMetadata, through);
            foreach (var entry in shards[i])
            {
                weightMap[entry.Name] = names[i];
            }
        }
        foreach (var name in names)
        {
            File.Move(Path.Combine(directory, name + ".tmp"), Path.Combine(directory, name), overwrite: true);
        }
        var totalSize = planned.Sum(e => e.ByteLength);
        if (shards.Count > 1)
        {
            var indexPath = Path.Combine(directory, IndexFileName);
            File.WriteAllText(indexPath + ".tmp", IndexJson(totalSize, weightMap), new UTF8Encoding(false));
            File.Move(indexPath + ".tmp", indexPath, overwrite: true);
        }
        foreach (var file in stale)
        {
            File.Delete(Path.Combine(directory, file));
        }
        return new SafetensorsShardingResult(names, weightMap, totalSize);
    }

    private static bool IsShardName(string file) =>
        file.StartsWith("model-", StringComparison.Ordinal) && file.EndsWith(".safetensors", StringComparison.Ordinal)
        && file.Contains("-of-", StringComparison.Ordinal);

    private static string IndexJson(long totalSize, SortedDictionary<string, string> weightMap)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteNumber("total_size", totalSize);
            w.WriteEndObject();
            w.WriteStartObject("weight_map");
            foreach (var (name, file) in weightMap)
            {
                w.WriteString(name, file);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private sealed record Entry(string Name, Tensor Tensor, SafetensorsDtype Dtype, ScalarType StoredType, long[] Shape, long ByteLength);

    private static List<Entry> Plan(IEnumerable<KeyValuePair<string, Tensor>> tensors, ScalarType? floatDtype)
    {
        if (floatDtype is { } f && f is not (ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64))
        {
            throw new ArgumentException($"floatDtype must be a floating-point type, got {f}", nameof(floatDtype));
        }
        var entries = new List<Entry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == SafetensorsHeader.MetadataKey)
            {
                throw new ArgumentException($"Invalid tensor name '{name}'.", nameof(tensors));
            }
            if (!seen.Add(name))
            {
                throw new ArgumentException($"Tensor name '{name}' given twice.", nameof(tensors));
            }
            var stored = floatDtype is { } target && tensor.is_floating_point() ? target : tensor.dtype;
            var dtype = SafetensorsScalarTypes.FromScalarType(stored);
            var shape = tensor.shape;
            entries.Add(new Entry(name, tensor, dtype, stored, shape, checked(shape.Aggregate(1L, (a, b) => a * b) * dtype.ItemSize())));
        }
        return entries;
    }

    private static void WriteFile(string path, string finalPath, IReadOnlyList<Entry> planned, IReadOnlyDictionary<string, string> metadata,
        Func<string, Stream, Stream>? through)
    {
        var entries = planned.OrderByDescending(e => e.Dtype.ItemSize()).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        var header = HeaderBytes(entries, metadata);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var stream = through?.Invoke(finalPath, file) ?? file;
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var entry in entries)
        {
            WriteTensorBytes(stream, entry);
        }
        stream.Flush();
        file.Flush(flushToDisk: true);
    }

    private static byte[] HeaderBytes(IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (metadata.Count > 0)
            {
                w.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    w.WriteString(key, value);
                }
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var entry in entries)
            {
                w.WriteStartObject(entry.Name);
                w.WriteString("dtype", entry.Dtype.HeaderName());
                w.WriteStartArray("shape");
                foreach (var dim in entry.Shape)
                {
                    w.WriteNumberValue(dim);
                }
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + entry.ByteLength);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += entry.ByteLength;
            }
            w.WriteEndObject();
        }
        var padding = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < padding; i++)
        {
            buffer.WriteByte((byte)' ');
        }
        return buffer.ToArray();
    }

    /// <summary>Copies one tensor to a contiguous CPU tensor of its stored type and writes its bytes.</summary>
    private static void WriteTensorBytes(Stream stream, Entry entry) =>
        WriteTensorBytes(stream, entry.Tensor, entry.StoredType, SafetensorsFile.ChunkBytes);

    internal static void WriteTensorBytes(Stream stream, Tensor tensor, ScalarType storedType, int chunkBytes)
    {
        if (tensor.NumberOfElements == 0)
        {
            return;
        }
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var host = tensor.detach().to(storedType, CPU).contiguous();
        var flat = host.view(-1);
        var itemSize = (int)host.ElementSize;
        var chunkElements = Math.Max(1, chunkBytes / itemSize);
        var elements = host.NumberOfElements;
        for (long start = 0; start < elements; start += chunkElements)
        {
            var count = Math.Min(chunkElements, elements - start);
            using var slice = flat.narrow(0, start, count);
            stream.Write(slice.bytes);
        }
    }
}
