using Microsoft.Extensions.FileSystemGlobbing;

namespace LongContext.Training.Data;

/// <summary>What a walk found: the files to read, and every candidate it left out with the reason.</summary>
/// <param name="Unmatched">Files that did not match the include/exclude globs (not listed: they were not asked for).</param>
internal sealed record FileListing(List<SourceFile> Files, List<SkippedInput> Skipped, int Unmatched);

/// <summary>
/// Recursive, deterministic file listing shared by the folder and JSONL readers. Only regular files are listed:
/// entry types come from statx (<see cref="FileType"/>), so a named pipe, socket or device is never opened (opening
/// a pipe blocks until a writer appears). A symbolic link is followed when it ends at a regular file; links to
/// folders are not entered, so a walk cannot loop. Excluded folders, unreadable folders, links that loop or dangle,
/// files that are not regular and files over the size limit are listed with the reason.
/// </summary>
internal static class FileWalker
{
    /// <summary>Files under root (relative '/' paths, ordinal order) that pass the globs, the excluded directory
    /// names and the size limit, and what was skipped (in walk order).</summary>
    public static FileListing List(string root, IReadOnlyList<string> include, IReadOnlyList<string> exclude,
        IReadOnlyList<string> excludedDirectories, long maxFileBytes)
    {
        if (!Directory.Exists(root)) throw new DataException($"{root}: data folder not found");
        var matcher = new Matcher(StringComparison.Ordinal);
        foreach (var g in include) matcher.AddInclude(g);
        foreach (var g in exclude) matcher.AddExclude(g);
        var skipDirs = new HashSet<string>(excludedDirectories, StringComparer.Ordinal);
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = false,
            AttributesToSkip = 0,
            IgnoreInaccessible = false,   // an unreadable folder is reported, not silently empty
            ReturnSpecialDirectories = false,
        };

        var found = new List<SourceFile>();
        var skipped = new List<SkippedInput>();
        int unmatched = 0;
        var pending = new Stack<(string Full, string Rel)>();
        pending.Push((root, ""));
        while (pending.Count > 0)
        {
            var (dir, relDir) = pending.Pop();
            List<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(dir).EnumerateFileSystemInfos("*", options).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (relDir.Length == 0) throw new DataException($"{root}: the data folder cannot be read ({e.Message})");
                skipped.Add(new(relDir + "/", $"unreadable folder ({e.Message})"));
                continue;
            }
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            foreach (var entry in entries)
            {
                string rel = relDir.Length == 0 ? entry.Name : relDir + "/" + entry.Name;
                var type = FileType.Of(entry.FullName, followLinks: false);
                if (type.Kind == FileKind.Unknown)
                {
                    // Listed by the folder but not found under its name: a name that is not UTF-8 comes back with
                    // U+FFFD and cannot be opened through .NET; otherwise it vanished during the walk.
                    string why = type.IsMissing ? entry.Name.Contains('\uFFFD') ? "its name is not valid UTF-8" : "removed during the walk" : type.Error!;
                    skipped.Add(entry is DirectoryInfo ? new(rel + "/", $"unreadable folder ({why})") : new(rel, $"unreadable ({why})"));
                    continue;
                }
                if (type.Kind == FileKind.Directory)
                {
                    if (skipDirs.Contains(entry.Name)) skipped.Add(new(rel + "/", "excluded folder (excluded_directories)"));
                    else pending.Push((entry.FullName, rel));
                    continue;
                }
                if (!matcher.Match(rel).HasMatches)
                {
                    unmatched++;
                    continue;
                }
                var file = Classify(entry, type);
                if (file.Reason is not null) skipped.Add(new(rel, file.Reason));
                else if (file.Bytes > maxFileBytes) skipped.Add(SkippedInput.TooLarge(rel, file.Bytes, maxFileBytes));
                else found.Add(new SourceFile(rel, file.Bytes, file.LastWriteUtc));
            }
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        skipped.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new FileListing(found, skipped, unmatched);
    }

    /// <summary>A candidate file's size and mtime (of the link's target for a symbolic link), or why it is skipped.</summary>
    static (long Bytes, DateTime LastWriteUtc, string? Reason) Classify(FileSystemInfo entry, FileTypeResult type)
    {
        switch (type.Kind)
        {
            case FileKind.Regular:
                return (((FileInfo)entry).Length, entry.LastWriteTimeUtc, null);
            case FileKind.SymbolicLink:
                var target = FileType.Of(entry.FullName, followLinks: true);
                if (target.IsLoop) return (0, default, "symbolic link loop (not followed)");
                if (target.IsMissing) return (0, default, $"broken symbolic link (target {entry.LinkTarget} not found)");
                if (target.Kind == FileKind.Directory) return (0, default, "symbolic link to a folder (not followed)");
                if (target.Kind == FileKind.Unknown) return (0, default, $"unreadable symbolic link ({target.Error})");
                if (target.Kind != FileKind.Regular) return (0, default, $"not a regular file ({FileType.Describe(target.Kind)}, via a symbolic link)");
                try
                {
                    var resolved = entry.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? (FileInfo)entry;
                    return (resolved.Length, resolved.LastWriteTimeUtc, null);
                }
                catch (IOException e)
                {
                    return (0, default, $"unreadable symbolic link ({e.Message})");
                }
            default:
                return (0, default, $"not a regular file ({FileType.Describe(type.Kind)})");
        }
    }

    public static string Join(IEnumerable<string> values) => string.Join("\n", values);
}
