namespace LongContext.Training.Data;

/// <summary>
/// Which files of a folder are read. Globs are matched (ordinal, case-sensitive) against the path relative to the
/// root with '/' separators, e.g. <c>src/**/*.cs</c>. Directories named in <see cref="ExcludedDirectories"/> are not
/// entered at all. Only regular files are read: symbolic links are followed to regular files, never into folders
/// (so a walk cannot loop); pipes, sockets and devices are skipped. Every skip is reported with its reason.
/// </summary>
public sealed record FolderSourceOptions
{
    public static readonly IReadOnlyList<string> DefaultExcludedDirectories =
        [".git", ".hg", ".svn", "node_modules", "bin", "obj", "__pycache__", ".venv", ".longctx-cache"];

    /// <summary>Globs a file must match (default: every file).</summary>
    public IReadOnlyList<string> Include { get; init; } = ["**/*"];
    /// <summary>Globs that drop a file even if it matches <see cref="Include"/>.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];
    /// <summary>Directory names (at any depth) that are never entered.</summary>
    public IReadOnlyList<string> ExcludedDirectories { get; init; } = DefaultExcludedDirectories;
    /// <summary>Files larger than this are skipped and listed (generated or minified files, data dumps). Default 8 MiB.</summary>
    public long MaxFileBytes { get; init; } = DefaultMaxFileBytes;

    public const long DefaultMaxFileBytes = 8L << 20;
}
