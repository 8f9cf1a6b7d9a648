namespace LongContext.Training.Data;

/// <summary>
/// Which files of a folder are read. Globs are matched (ordinal, case-sensitive) against the path relative to the
/// root with '/' separators, e.g. <c>src/**/*.cs</c>. Directories named in <see cref="ExcludedDirectories"/> are not
/// entered at all; symbolic links (files and directories) are skipped, so a walk cannot loop.
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
    /// <summary>Files larger than this are skipped (generated or minified files, data dumps). Default 8 MiB.</summary>
    public long MaxFileBytes { get; init; } = 8L << 20;
}
