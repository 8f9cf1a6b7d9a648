using System.Globalization;
using System.Text.Json;
using LongContext.Core.Weights;
using LongContext.Formats.Safetensors;
using LongContext.Training.Optim;
using static TorchSharp.torch;

namespace LongContext.Training.Checkpoints;

/// <summary>Where one piece of a named optimizer state tensor lives: elements [Offset, Offset + Count) of it, flattened, in File.</summary>
public sealed record OptimizerStatePart(string File, long Offset, long Count);

/// <summary>A named optimizer state tensor of a checkpoint: its full shape and the pieces that make it up.</summary>
public sealed record OptimizerStateEntry(long[] Shape, IReadOnlyList<OptimizerStatePart> Parts);

/// <summary>optimizer.index.json: which file holds which elements of each optimizer state tensor (sharded state only).</summary>
public sealed record OptimizerStateIndex(string Format, long StepCount, int WorldSize, IReadOnlyDictionary<string, OptimizerStateEntry> Tensors)
{
    public const string CurrentFormat = "longcontext-optimizer-index/1";
}

/// <summary>
/// The optimizer state files of a checkpoint. Replicated state (AdamW on one process, or on every data-parallel rank)
/// is one `optimizer.safetensors` of whole tensors, written by rank 0. Sharded state (ZeRO) is one
/// `optimizer-0000R-of-0000W.safetensors` per rank holding that rank's element ranges of the named tensors as 1-D
/// float32 tensors, plus `optimizer.index.json` mapping every name to its pieces. State is keyed by parameter name
/// and read back by element range (<see cref="Read"/>), so a checkpoint written at one world size resumes at any other.
/// </summary>
public sealed class OptimizerStateFiles : IOptimizerStateSource, IDisposable
{
    public const string ReplicatedFileName = "optimizer.safetensors";
    public const string IndexFileName = "optimizer.index.json";
    const string StepMetadataKey = "step";

    readonly string directory;
    readonly IReadOnlyDictionary<string, OptimizerStateEntry> tensors;
    readonly Dictionary<string, SafetensorsFile> open = [];

    OptimizerStateFiles(string directory, long stepCount, IReadOnlyDictionary<string, OptimizerStateEntry> tensors, string description) =>
        (this.directory, StepCount, this.tensors, Description) = (directory, stepCount, tensors, description);

    public string Description { get; }

    /// <summary>Optimizer steps the state was saved after.</summary>
    public long StepCount { get; }

    /// <summary>File name of rank <paramref name="rank"/>'s part (1-based like HF shards).</summary>
    public static string PartFileName(int rank, int worldSize) =>
        string.Create(CultureInfo.InvariantCulture, $"optimizer-{rank + 1:D5}-of-{worldSize:D5}.safetensors");

    /// <summary>
    /// Writes this process's state into <paramref name="path"/>: whole tensors with their shape, element ranges as
    /// 1-D tensors (each name at most once per part). Returns where each piece went, for the index.
    /// </summary>
    public static IReadOnlyDictionary<string, OptimizerStateEntry> WritePart(string path, IReadOnlyList<OptimizerStateSlice> slices, long stepCount,
        Func<string, Stream, Stream>? through = null)
    {
        var file = Path.GetFileName(path);
        SafetensorsWriter.Write(path, slices.Select(s => new KeyValuePair<string, Tensor>(s.Name, s.IsWhole ? s.Values : s.Values.reshape(-1))),
            new Dictionary<string, string> { ["format"] = "pt", [StepMetadataKey] = stepCount.ToString(CultureInfo.InvariantCulture) },
            ScalarType.Float32, through);
        return slices.ToDictionary(s => s.Name, s => new OptimizerStateEntry(s.Shape, [new OptimizerStatePart(file, s.Offset, s.Count)]));
    }

    /// <summary>Merges every rank's pieces into optimizer.index.json in <paramref name="directory"/>; returns its path.</summary>
    public static string WriteIndex(string directory, long stepCount, int worldSize, IEnumerable<IReadOnlyDictionary<string, OptimizerStateEntry>> parts)
    {
        var merged = new SortedDictionary<string, OptimizerStateEntry>(StringComparer.Ordinal);
        foreach (var part in parts)
        foreach (var (name, entry) in part)
        {
            merged[name] = merged.TryGetValue(name, out var known)
                ? known with { Parts = [.. known.Parts, .. entry.Parts] }
                : entry;
        }
        var index = new OptimizerStateIndex(OptimizerStateIndex.CurrentFormat, stepCount, worldSize,
            merged.ToDictionary(kv => kv.Key, kv => kv.Value with { Parts = [.. kv.Value.Parts.OrderBy(p => p.Offset)] }));
        var path = Path.Combine(directory, IndexFileName);
        Durable.WriteAllText(path, JsonSerializer.Serialize(index, CheckpointStore.Json) + "\n");
        return path;
    }

    /// <summary>Opens a checkpoint's optimizer state: the index when there is one, else the replicated file.</summary>
    public static OptimizerStateFiles Open(string checkpointDir)
    {
        var indexPath = Path.Combine(checkpointDir, IndexFileName);
        if (File.Exists(indexPath))
        {
            OptimizerStateIndex? index;
            try
            {
                index = JsonSerializer.Deserialize<OptimizerStateIndex>(File.ReadAllText(indexPath), CheckpointStore.Json);
            }
            catch (JsonException e)
            {
                throw new CheckpointException($"{indexPath}: not valid JSON ({e.Message}).");
            }
            if (index is null || index.Format != OptimizerStateIndex.CurrentFormat)
                throw new CheckpointException($"{indexPath}: format is '{index?.Format}', expected '{OptimizerStateIndex.CurrentFormat}'.");
            return new OptimizerStateFiles(checkpointDir, index.StepCount, index.Tensors, $"{checkpointDir} (optimizer state of {index.WorldSize} ranks)");
        }
        var path = Path.Combine(checkpointDir, ReplicatedFileName);
        if (!File.Exists(path))
            throw new CheckpointException($"{checkpointDir}: neither {IndexFileName} nor {ReplicatedFileName}; the checkpoint has no optimizer state.");
        var file = SafetensorsFile.Open(path);
        long steps = file.Metadata.TryGetValue(StepMetadataKey, out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new CheckpointException($"{path}: metadata has no \"{StepMetadataKey}\".");
        var whole = file.Names.ToDictionary(n => n, n =>
        {
            var info = file.GetInfo(n);
            return new OptimizerStateEntry(info.ShapeArray(), [new OptimizerStatePart(ReplicatedFileName, 0, info.ElementCount)]);
        });
        var result = new OptimizerStateFiles(checkpointDir, steps, whole, path);
        result.open[ReplicatedFileName] = file;
        return result;
    }

    public long[]? ShapeOf(string name) => tensors.TryGetValue(name, out var e) ? e.Shape : null;

    public unsafe Tensor Read(string name, long offset, long count, Device device)
    {
        if (!tensors.TryGetValue(name, out var entry))
            throw new CheckpointException($"{Description}: optimizer state {name} is missing; the checkpoint was written for a different model or set of trainable parameters.");
        var result = empty(count, ScalarType.Float32, CPU);
        long covered = 0;
        using (var flat = result.view(-1))
        {
            foreach (var part in entry.Parts)
            {
                long lo = Math.Max(offset, part.Offset), hi = Math.Min(offset + count, part.Offset + part.Count);
                if (hi <= lo) continue;
                var file = FileOf(part.File);
                var info = file.GetInfo(name);
                if (info.Dtype != SafetensorsDtype.F32 || info.ElementCount != part.Count)
                    throw new CheckpointException($"{Path.Combine(directory, part.File)}: {name} is {info.Dtype} with {info.ElementCount} elements, the index says F32 with {part.Count}.");
                byte* source = (byte*)file.GetDataPointer(name) + (lo - part.Offset) * sizeof(float);
                using var target = flat.narrow(0, lo - offset, hi - lo);
                Copy(source, (hi - lo) * sizeof(float), target);
                covered += hi - lo;
            }
        }
        if (covered != count)
            throw new CheckpointException($"{Description}: the pieces of {name} cover {covered} of elements {offset}…{offset + count - 1}; an optimizer part file is missing or the index is damaged.");
        if (device.type == TorchSharp.DeviceType.CPU) return result;
        using (result) return result.to(device);
    }

    SafetensorsFile FileOf(string name)
    {
        if (!open.TryGetValue(name, out var file))
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path)) throw new CheckpointException($"{path}: listed in {IndexFileName} but missing; the checkpoint is damaged.");
            open[name] = file = SafetensorsFile.Open(path);
        }
        return file;
    }

    /// <summary>Copies <paramref name="length"/> bytes into a contiguous CPU tensor, in pieces under 2 GiB.</summary>
    static unsafe void Copy(byte* source, long length, Tensor target)
    {
        const int chunk = 1 << 28;
        long itemSize = target.ElementSize;
        long elements = length / itemSize, perChunk = chunk / itemSize;
        for (long start = 0; start < elements; start += perChunk)
        {
            long n = Math.Min(perChunk, elements - start);
            using var slice = target.narrow(0, start, n);
            new ReadOnlySpan<byte>(source + start * itemSize, (int)(n * itemSize)).CopyTo(slice.bytes);
        }
    }

    public void Dispose()
    {
        foreach (var f in open.Values) f.Dispose();
        open.Clear();
    }
}
