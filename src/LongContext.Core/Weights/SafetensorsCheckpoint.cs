using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using LongContext.Formats.Safetensors;

namespace LongContext.Core.Weights;

/// <summary>
/// The weights of a model folder: `model.safetensors`, or shards listed by `model.safetensors.index.json`
/// (`weight_map`). As in transformers, a single `model.safetensors` wins over an index. All files are opened and
/// validated up front (headers only; data is memory-mapped and read per tensor).
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    private readonly Dictionary<string, SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _byTensor;

    private SafetensorsCheckpoint(string directory, Dictionary<string, SafetensorsFile> files, Dictionary<string, SafetensorsFile> byTensor,
        List<string> names)
    {
        Directory = directory;
        _files = files;
        _byTensor = byTensor;
        Names = names;
    }

    public string Directory { get; }

    /// <summary>The weight files used, by file name.</summary>
    public IReadOnlyCollection<string> Files => _files.Keys;

    /// <summary>Every tensor name, in index order (sorted) or file order.</summary>
    public IReadOnlyList<string> Names { get; }

    public static bool Exists(string modelDir) =>
        File.Exists(Path.Combine(modelDir, SafetensorsWriter.SingleFileName))
        || File.Exists(Path.Combine(modelDir, SafetensorsWriter.IndexFileName));

    public static SafetensorsCheckpoint Open(string modelDir)
    {
        if (!System.IO.Directory.Exists(modelDir))
        {
            throw new CheckpointException($"Model folder '{modelDir}' does not exist.");
        }
        var single = Path.Combine(modelDir, SafetensorsWriter.SingleFileName);
        if (File.Exists(single))
        {
            var file = SafetensorsFile.Open(single);
            var files = new Dictionary<string, SafetensorsFile> { [SafetensorsWriter.SingleFileName] = file };
            return new SafetensorsCheckpoint(modelDir, files, file.Names.ToDictionary(n => n, _ => file), [.. file.Names]);
        }
        var indexPath = Path.Combine(modelDir, SafetensorsWriter.IndexFileName);
        if (!File.Exists(indexPath))
        {
            var hint = System.IO.Directory.EnumerateFiles(modelDir, "*.bin").Any()
                ? " It holds PyTorch .bin weights: convert them to safetensors (save_pretrained(safe_serialization=True))."
                : "";
            throw new CheckpointException($"{modelDir}: no {SafetensorsWriter.SingleFileName} or {SafetensorsWriter.IndexFileName}.{hint}");
        }
        var weightMap = ReadWeightMap(indexPath);
        var opened = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            var missingFiles = weightMap.Values.Distinct().Where(f => !File.Exists(Path.Combine(modelDir, f))).Order().ToList();
            if (missingFiles.Count > 0)
            {
                throw new CheckpointException($"{indexPath}: shard file(s) missing from the folder: {string.Join(", ", missingFiles)}. "
                    + "Download the whole checkpoint.");
            }
            foreach (var file in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
            {
                opened[file] = SafetensorsFile.Open(Path.Combine(modelDir, file));
            }
            var byTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            var absent = new List<string>();
            foreach (var (name, file) in weightMap)
            {
                if (opened[file].Contains(name))
                {
                    byTensor[name] = opened[file];
                }
                else
                {
                    absent.Add($"'{name}' (in {file})");
                }
            }
            if (absent.Count > 0)
            {
                throw new CheckpointException($"{indexPath}: {absent.Count} tensor(s) listed in weight_map are not in their shard: "
                    + $"{Abbreviate(absent)}. The index and shards come from different saves; re-download them.");
            }
            return new SafetensorsCheckpoint(modelDir, opened, byTensor, [.. weightMap.Keys.Order(StringComparer.Ordinal)]);
        }
        catch
        {
            foreach (var file in opened.Values)
            {
                file.Dispose();
            }
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointException($"{indexPath}: has no 'weight_map' object; re-download it.");
            }
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                var file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : "";
                if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or "..")
                {
                    throw new CheckpointException($"{indexPath}: weight_map entry '{entry.Name}' must name a file in the folder, got {entry.Value.GetRawText()}.");
                }
                result[entry.Name] = file;
            }
            return result;
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{indexPath}: not valid JSON ({e.Message.Split('\n')[0]}); re-download it.");
        }
    }

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    public SafetensorsTensorInfo GetInfo(string name) => FileOf(name).GetInfo(name);

    /// <summary>The file holding <paramref name="name"/> (for raw byte access).</summary>
    public SafetensorsFile FileOf(string name) =>
        _byTensor.TryGetValue(name, out var file)
            ? file
            : throw new CheckpointException($"{Directory}: the checkpoint has no tensor '{name}'.");

    /// <inheritdoc cref="SafetensorsFile.LoadTensor"/>
    public Tensor LoadTensor(string name, ScalarType? dtype = null, Device? device = null) => FileOf(name).LoadTensor(name, dtype, device);

    /// <summary>
    /// Copies checkpoint tensors into existing tensors (model parameters), one at a time: each is read from the map
    /// into host memory at the file's dtype, then `copy_` (under no_grad) converts dtype and moves it to the target's
    /// device. Names, missing/unexpected tensors and shapes are all checked before anything is copied.
    /// </summary>
    public CheckpointLoadReport LoadInto(IReadOnlyDictionary<string, Tensor> targets, CheckpointLoadOptions? options = null,
        IProgress<CheckpointLoadProgress>? progress = null)
    {
        options ??= CheckpointLoadOptions.Strict;
        var allowedMissing = new HashSet<string>(options.AllowedMissing, StringComparer.Ordinal);
        var allowedUnexpected = new HashSet<string>(options.AllowedUnexpected, StringComparer.Ordinal);

        var missing = targets.Keys.Where(n => !Contains(n)).Order(StringComparer.Ordinal).ToList();
        var badMissing = missing.Where(n => !allowedMissing.Contains(n)).ToList();
        var unexpected = Names.Where(n => !targets.ContainsKey(n)).ToList();
        var badUnexpected = unexpected.Where(n => !options.AllowAnyUnexpected && !allowedUnexpected.Contains(n)
            && !CheckpointLoadOptions.IsAlwaysIgnored(n)).ToList();
        var mismatched = new List<string>();
        foreach (var (name, target) in targets)
        {
            if (Contains(name))
            {
                var info = GetInfo(name);
                if (!info.Shape.SequenceEqual(target.shape))
                {
                    mismatched.Add($"'{name}': checkpoint [{string.Join(", ", info.Shape)}], model [{string.Join(", ", target.shape)}]");
                }
            }
        }
        var problems = new List<string>();
        if (badMissing.Count > 0)
        {
            problems.Add($"{badMissing.Count} tensor(s) the model needs are missing: {Abbreviate(badMissing.Select(n => $"'{n}'").ToList())}");
        }
        if (badUnexpected.Count > 0)
        {
            problems.Add($"{badUnexpected.Count} checkpoint tensor(s) match no model tensor: {Abbreviate(badUnexpected.Select(n => $"'{n}'").ToList())}");
        }
        if (mismatched.Count > 0)
        {
            problems.Add($"{mismatched.Count} shape mismatch(es): {Abbreviate(mismatched)}");
        }
        if (problems.Count > 0)
        {
            throw new CheckpointException($"{Directory}: the checkpoint does not fit the model: {string.Join("; ", problems)}. "
                + "Check that config.json belongs to these weights (model_type, sizes, tie_word_embeddings).");
        }

        var toLoad = targets.Keys.Where(Contains).Order(StringComparer.Ordinal).ToList();
        var bytesTotal = toLoad.Sum(n => GetInfo(n).ByteLength);
        long bytesDone = 0;
        var loaded = new List<string>(toLoad.Count);
        using var noGrad = torch.no_grad();
        foreach (var name in toLoad)
        {
            using (var scope = torch.NewDisposeScope())
            {
                var source = LoadTensor(name);
                targets[name].copy_(source);
            }
            bytesDone += GetInfo(name).ByteLength;
            loaded.Add(name);
            progress?.Report(new CheckpointLoadProgress(name, loaded.Count, toLoad.Count, bytesDone, bytesTotal));
        }
        return new CheckpointLoadReport(loaded, unexpected, missing, bytesDone);
    }

    private static string Abbreviate(IReadOnlyList<string> items, int max = 8) =>
        items.Count <= max ? string.Join(", ", items) : string.Join(", ", items.Take(max)) + $", ... ({items.Count - max} more)";

    public void Dispose()
    {
        foreach (var file in _files.Values)
        {
            file.Dispose();
        }
    }
}
