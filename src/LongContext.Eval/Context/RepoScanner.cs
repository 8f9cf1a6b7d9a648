using System.Text;

namespace LongContext.Eval.Context;

/// <summary>What to scan and what to leave out.</summary>
public sealed record ScanOptions
{
    /// <summary>Honour .gitignore files (every folder's) and .git/info/exclude.</summary>
    public bool UseGitIgnore { get; init; } = true;
    /// <summary>Extra gitignore-style patterns applied from the root (--exclude).</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];
    /// <summary>Files larger than this are left out ("too large").</summary>
    public long MaxFileBytes { get; init; } = 256 * 1024;
    /// <summary>A folder of documents (--docs) rather than a code repository: every kept file is a document.</summary>
    public bool Documents { get; init; }
    /// <summary>Folder names to descend into although <see cref="FileRules.SkippedDirectories"/> lists them (--keep-dir build).</summary>
    public IReadOnlyList<string> KeepDirectories { get; init; } = [];
}

/// <summary>
/// Walks a folder and keeps the text files worth packing: not ignored by git's rules, not in vendored/build folders,
/// not lock files, not generated (by name or by an "auto-generated"/"DO NOT EDIT" header), not binary (known extension,
/// a NUL byte or invalid UTF-8), not empty, not over the size limit, not symbolic links. Every path left out is reported
/// with its reason (a skipped folder once, not its contents). Deterministic: folders are walked in ordinal name order.
/// </summary>
public static class RepoScanner
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static RepoScan Scan(string root, ScanOptions? options = null)
    {
        options ??= new ScanOptions();
        if (!Directory.Exists(root)) throw new AskException($"{root}: no such folder; give the repository (or documents) folder to pack.");
        root = Path.GetFullPath(root);
        var files = new List<RepoFile>();
        var skipped = new List<SkippedPath>();
        var ignore = new GitIgnoreStack(root, options.Exclude, options.UseGitIgnore);
        Walk(root, "", ignore, options, files, skipped);
        return new RepoScan(root, files, skipped);
    }

    private static void Walk(string root, string relDir, GitIgnoreStack ignore, ScanOptions options, List<RepoFile> files, List<SkippedPath> skipped)
    {
        var levels = ignore.Enter(root, relDir);
        try
        {
            var dir = relDir.Length == 0 ? root : Path.Combine(root, relDir);
            var names = Directory.EnumerateFiles(dir).Select(f => Path.GetFileName(f)).ToList();
            foreach (var path in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(path);
                var rel = Join(relDir, name);
                if (name == ".git") continue;   // a worktree's .git file
                if (ignore.IsIgnored(rel, false, out var pattern)) { skipped.Add(new(rel, $"ignored ({pattern})")); continue; }
                if (Check(path, name, relDir, options) is { } reason) { skipped.Add(new(rel, reason)); continue; }
                var read = Read(path, options);
                if (read.Reason is not null) { skipped.Add(new(rel, read.Reason)); continue; }
                var kind = Classify(rel, relDir, name, names, options.Documents);
                files.Add(new RepoFile(rel, FileRules.Language(name), kind, read.Text!, new FileInfo(path).Length));
            }
            foreach (var path in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(path);
                var rel = Join(relDir, name);
                if (name == ".git") continue;
                if (new DirectoryInfo(path).LinkTarget is not null) { skipped.Add(new(rel + "/", "symbolic link")); continue; }
                if (ignore.IsIgnored(rel, true, out var pattern)) { skipped.Add(new(rel + "/", $"ignored ({pattern})")); continue; }
                if (FileRules.SkippedDirectories.Contains(name) && !options.KeepDirectories.Contains(name)) { skipped.Add(new(rel + "/", "vendored, build output or cache folder (--keep-dir NAME to include)")); continue; }
                Walk(root, rel, ignore, options, files, skipped);
            }
        }
        finally { ignore.Leave(levels); }
    }

    private static string Join(string dir, string name) => dir.Length == 0 ? name : dir + "/" + name;

    /// <summary>Rules decided by name and size alone (the file is not opened).</summary>
    private static string? Check(string path, string name, string relDir, ScanOptions options)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) return "symbolic link";
        if (FileRules.IsLockFile(name)) return "lock file";
        if (FileRules.IsGeneratedName(name)) return "generated or minified (name)";
        if (FileRules.IsBinaryExtension(name)) return "binary (extension)";
        if (info.Length == 0) return "empty";
        if (info.Length > options.MaxFileBytes) return $"too large ({info.Length:N0} bytes > {options.MaxFileBytes:N0}; raise --max-file-bytes)";
        return null;
    }

    private static (string? Text, string? Reason) Read(string path, ScanOptions options)
    {
        var bytes = File.ReadAllBytes(path);
        if (Array.IndexOf(bytes, (byte)0) >= 0) return (null, "binary (NUL bytes)");
        string text;
        try
        {
            var start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
            text = StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException) { return (null, "binary (not UTF-8)"); }
        text = text.Replace("\r\n", "\n");
        if (string.IsNullOrWhiteSpace(text)) return (null, "empty");
        if (!options.Documents && FileRules.HasGeneratedHeader(text)) return (null, "generated (header)");
        return (text, null);
    }

    /// <summary>The kind of a kept file (see <see cref="FileKind"/>); in documents mode everything but the root README is a document.</summary>
    public static FileKind Classify(string relativePath, string relativeDir, string name, IReadOnlyCollection<string> siblings, bool documents)
    {
        var atRoot = relativeDir.Length == 0;
        if (atRoot && FileRules.IsReadme(name)) return FileKind.Overview;
        if (documents) return FileKind.Docs;
        if (FileRules.IsLowValue(name, relativeDir)) return FileKind.Other;
        if (atRoot && FileRules.IsDocument(name)) return FileKind.Overview;
        if (atRoot && FileRules.IsBuildFile(name)) return FileKind.Build;
        if (FileRules.IsTest(relativePath, siblings)) return FileKind.Test;
        var top = relativePath.Split('/')[0];
        if (!atRoot && FileRules.DocDirectories.Contains(top)) return FileKind.Docs;
        return FileKind.Source;
    }
}
