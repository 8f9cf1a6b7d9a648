using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LongContext.Training.Checkpoints;

/// <summary>
/// The checkpoints/ folder of a run: `step-000123/` folders, each written as `step-000123.tmp/` and renamed once
/// its manifest.json is in place, so a crash mid-save leaves only a .tmp folder that is ignored (and removed by the
/// next save). Older complete checkpoints beyond keep_last are deleted after each save.
/// </summary>
public sealed partial class CheckpointStore(string directory)
{
    public const string ManifestFileName = "manifest.json";
    const string TmpSuffix = ".tmp";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public string Directory { get; } = directory;

    public static string FolderName(int step) => "step-" + step.ToString("D6", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^step-(\d{6,})$")]
    private static partial Regex StepFolder();

    /// <summary>Complete checkpoints (with a manifest), oldest first.</summary>
    public IReadOnlyList<CheckpointInfo> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        return System.IO.Directory.EnumerateDirectories(Directory)
            .Select(d => (Dir: d, Match: StepFolder().Match(System.IO.Path.GetFileName(d))))
            .Where(x => x.Match.Success && File.Exists(System.IO.Path.Combine(x.Dir, ManifestFileName)))
            .Select(x => new CheckpointInfo(int.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture), x.Dir))
            .OrderBy(c => c.Step)
            .ToList();
    }

    public CheckpointInfo? Latest() => List().LastOrDefault();

    /// <summary>
    /// Writes checkpoint <paramref name="step"/>: <paramref name="write"/> fills a fresh `step-N.tmp/` folder, then
    /// the manifest (every file and its size) is written and the folder renamed to `step-N/` (replacing an older
    /// one of the same step). Returns the final path.
    /// </summary>
    public string Save(int step, Action<string> write)
    {
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var stale in System.IO.Directory.EnumerateDirectories(Directory, "step-*" + TmpSuffix))
            System.IO.Directory.Delete(stale, recursive: true);
        var final = System.IO.Path.Combine(Directory, FolderName(step));
        var tmp = final + TmpSuffix;
        System.IO.Directory.CreateDirectory(tmp);
        write(tmp);
        var files = System.IO.Directory.EnumerateFiles(tmp, "*", SearchOption.AllDirectories)
            .Select(f => new CheckpointFile(System.IO.Path.GetRelativePath(tmp, f).Replace('\\', '/'), new FileInfo(f).Length))
            .Where(f => f.Name != ManifestFileName)
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        var manifest = new CheckpointManifest(CheckpointManifest.CurrentFormat, step, DateTimeOffset.UtcNow, files);
        var manifestPath = System.IO.Path.Combine(tmp, ManifestFileName);
        File.WriteAllText(manifestPath + TmpSuffix, JsonSerializer.Serialize(manifest, Json) + "\n", new UTF8Encoding(false));
        File.Move(manifestPath + TmpSuffix, manifestPath);
        if (System.IO.Directory.Exists(final))
        {
            var old = final + ".old";
            if (System.IO.Directory.Exists(old)) System.IO.Directory.Delete(old, recursive: true);
            System.IO.Directory.Move(final, old);
            System.IO.Directory.Move(tmp, final);
            System.IO.Directory.Delete(old, recursive: true);
        }
        else
        {
            System.IO.Directory.Move(tmp, final);
        }
        return final;
    }

    /// <summary>Deletes all but the newest <paramref name="keepLast"/> complete checkpoints (0 keeps all).</summary>
    public void Prune(int keepLast)
    {
        if (keepLast <= 0) return;
        var all = List();
        foreach (var old in all.Take(Math.Max(0, all.Count - keepLast)))
            System.IO.Directory.Delete(old.Path, recursive: true);
    }

    /// <summary>Reads and checks a checkpoint's manifest: present, of this format, and every listed file present at its size.</summary>
    public static CheckpointManifest ReadManifest(string checkpointDir)
    {
        var path = System.IO.Path.Combine(checkpointDir, ManifestFileName);
        if (!File.Exists(path))
            throw new CheckpointException($"{checkpointDir}: no {ManifestFileName}, so this is not a complete checkpoint (a save was interrupted?). Resume from an earlier step-* folder.");
        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not valid JSON ({e.Message}).");
        }
        if (manifest is null || manifest.Format != CheckpointManifest.CurrentFormat)
            throw new CheckpointException($"{path}: format is '{manifest?.Format}', expected '{CheckpointManifest.CurrentFormat}'.");
        foreach (var f in manifest.Files)
        {
            var filePath = System.IO.Path.Combine(checkpointDir, f.Name);
            if (!File.Exists(filePath))
                throw new CheckpointException($"{checkpointDir}: {f.Name} is listed in the manifest but missing; the checkpoint is damaged. Resume from an earlier step-* folder.");
            var size = new FileInfo(filePath).Length;
            if (size != f.Bytes)
                throw new CheckpointException($"{checkpointDir}: {f.Name} is {size} bytes, the manifest says {f.Bytes}; the checkpoint is damaged. Resume from an earlier step-* folder.");
        }
        return manifest;
    }
}
