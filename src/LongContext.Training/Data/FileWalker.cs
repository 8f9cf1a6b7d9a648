using Microsoft.Extensions.FileSystemGlobbing;

namespace LongContext.Training.Data;

/// <summary>Recursive, deterministic file listing shared by the folder and JSONL readers.</summary>
internal static class FileWalker
{
    /// <summary>Files under root (relative '/' paths, ordinal order) that pass the globs, the excluded directory
    /// names and the size limit. Symbolic links are skipped.</summary>
    public static List<SourceFile> List(string root, IReadOnlyList<string> include, IReadOnlyList<string> exclude,
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
            AttributesToSkip = FileAttributes.ReparsePoint,
            IgnoreInaccessible = true,
            ReturnSpecialDirectories = false,
        };

        var found = new List<SourceFile>();
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(root));
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var sub in dir.EnumerateDirectories("*", options))
                if (!skipDirs.Contains(sub.Name)) pending.Push(sub);
            foreach (var file in dir.EnumerateFiles("*", options))
            {
                string rel = Path.GetRelativePath(root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (file.Length > maxFileBytes || !matcher.Match(rel).HasMatches) continue;
                found.Add(new SourceFile(rel, file.Length, file.LastWriteTimeUtc));
            }
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return found;
    }

    public static string Join(IEnumerable<string> values) => string.Join("\n", values);
}
