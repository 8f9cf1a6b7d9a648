using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LongContext.Training.Checkpoints;

/// <summary>
/// The checkpoints/ folder of a run: `step-000123/` folders, each written as `step-000123.tmp/` and renamed once
/// its manifest.json (every file with its size and content hash) is in place, so a crash mid-save leaves only a
/// .tmp folder that is ignored. A save that fails removes its .tmp folder (a full disk stays usable for the rerun);
/// one left by a killed process is removed by the next save or resume. Older complete checkpoints beyond keep_last
/// are deleted after each save; a checkpoint found damaged on resume is renamed `step-N.damaged/` and kept for
/// inspection. With several processes, rank 0 stages and commits while every rank writes its part in between
/// (<see cref="RunCheckpointer"/>).
/// </summary>
public sealed partial class CheckpointStore(string directory)
{
    public const string ManifestFileName = "manifest.json";
    const string TmpSuffix = ".tmp";
    const string OldSuffix = ".old";
    public const string DamagedSuffix = ".damaged";

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

    /// <summary>The folder a save of <paramref name="step"/> writes into before its commit.</summary>
    public string StagingPath(int step) => System.IO.Path.Combine(Directory, FolderName(step) + TmpSuffix);

    /// <summary>Removes what interrupted saves left: `step-*.tmp/` and `step-*.old/` folders.</summary>
    public void RemoveStale()
    {
        if (!System.IO.Directory.Exists(Directory)) return;
        foreach (var suffix in new[] { TmpSuffix, OldSuffix })
        foreach (var stale in System.IO.Directory.EnumerateDirectories(Directory, "step-*" + suffix))
            System.IO.Directory.Delete(stale, recursive: true);
    }

    /// <summary>Clears stale folders and creates an empty staging folder for <paramref name="step"/>; returns it.</summary>
    public string Stage(int step)
    {
        System.IO.Directory.CreateDirectory(Directory);
        RemoveStale();
        var tmp = StagingPath(step);
        System.IO.Directory.CreateDirectory(tmp);
        return tmp;
    }

    /// <summary>Deletes the staging folder of a failed save (best effort: the failure being reported matters more).</summary>
    public void Abandon(int step)
    {
        try
        {
            var tmp = StagingPath(step);
            if (System.IO.Directory.Exists(tmp)) System.IO.Directory.Delete(tmp, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Writes the manifest of the staged files (durably) and renames the staging folder to `step-N/`, replacing an
    /// older one of the same step; the rename is flushed to disk too. Returns the final path.
    /// </summary>
    public string Commit(int step, IReadOnlyList<CheckpointFile> files, int worldSize = 1)
    {
        var tmp = StagingPath(step);
        var final = System.IO.Path.Combine(Directory, FolderName(step));
        var manifest = new CheckpointManifest(CheckpointManifest.CurrentFormat, step, DateTimeOffset.UtcNow,
            [.. files.OrderBy(f => f.Name, StringComparer.Ordinal)], worldSize);
        Durable.WriteAllText(System.IO.Path.Combine(tmp, ManifestFileName), JsonSerializer.Serialize(manifest, Json) + "\n");
        Durable.SyncDirectory(tmp);
        if (System.IO.Directory.Exists(final))
        {
            var old = final + OldSuffix;
            if (System.IO.Directory.Exists(old)) System.IO.Directory.Delete(old, recursive: true);
            System.IO.Directory.Move(final, old);
            System.IO.Directory.Move(tmp, final);
            Durable.SyncDirectory(Directory);
            System.IO.Directory.Delete(old, recursive: true);
        }
        else
        {
            System.IO.Directory.Move(tmp, final);
            Durable.SyncDirectory(Directory);
        }
        return final;
    }

    /// <summary>
    /// One process writing checkpoint <paramref name="step"/>: <paramref name="write"/> fills a fresh staging folder,
    /// every file in it is listed with its size and hash, and the folder is committed. A failure removes the staging
    /// folder and is rethrown. Returns the final path.
    /// </summary>
    public string Save(int step, Action<string> write)
    {
        var tmp = Stage(step);
        try
        {
            write(tmp);
            var files = System.IO.Directory.EnumerateFiles(tmp, "*", SearchOption.AllDirectories)
                .Select(f => new CheckpointFile(RelativeName(tmp, f), new FileInfo(f).Length, ContentHash.OfFile(f)))
                .Where(f => f.Name != ManifestFileName)
                .ToList();
            return Commit(step, files);
        }
        catch
        {
            Abandon(step);
            throw;
        }
    }

    internal static string RelativeName(string folder, string file) => System.IO.Path.GetRelativePath(folder, file).Replace('\\', '/');

    /// <summary>Deletes all but the newest <paramref name="keepLast"/> complete checkpoints (0 keeps all).</summary>
    public void Prune(int keepLast)
    {
        if (keepLast <= 0) return;
        var all = List();
        foreach (var old in all.Take(Math.Max(0, all.Count - keepLast)))
            System.IO.Directory.Delete(old.Path, recursive: true);
    }

    /// <summary>Moves a damaged checkpoint out of the way (`step-N.damaged/`, replacing an older one) and returns where it went.</summary>
    public string SetAsideDamaged(CheckpointInfo checkpoint)
    {
        var target = checkpoint.Path + DamagedSuffix;
        if (System.IO.Directory.Exists(target)) System.IO.Directory.Delete(target, recursive: true);
        System.IO.Directory.Move(checkpoint.Path, target);
        return target;
    }

    /// <summary>Reads and checks a checkpoint's manifest: present, of a known format, and every listed file present at its size.</summary>
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
        if (manifest is null || manifest.Format is not (CheckpointManifest.CurrentFormat or CheckpointManifest.SizesOnlyFormat))
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

    /// <summary>
    /// Re-hashes <paramref name="files"/> of a checkpoint (a subset of its manifest's, so ranks can share the work)
    /// and returns what is wrong with the first that differs, or null when all match. Files of a format-1 manifest
    /// have no hash and pass.
    /// </summary>
    public static string? FindDamage(string checkpointDir, IEnumerable<CheckpointFile> files)
    {
        foreach (var f in files)
        {
            if (f.Xxh128 is null) continue;
            string actual;
            try
            {
                actual = ContentHash.OfFile(System.IO.Path.Combine(checkpointDir, f.Name));
            }
            catch (IOException e)
            {
                return $"{f.Name} cannot be read ({e.Message})";
            }
            if (actual != f.Xxh128)
                return $"{f.Name} does not match its content hash ({ContentHash.Algorithm} {actual}, the manifest says {f.Xxh128}): its bytes changed after the save";
        }
        return null;
    }
}
