namespace LongContext.Eval.Context;

/// <summary>What role a file plays: decides where it is listed and, when the window is short, what is left out first.</summary>
public enum FileKind
{
    /// <summary>README and other documents at the root.</summary>
    Overview,
    /// <summary>Build and project files at the root (package.json, *.csproj, Cargo.toml, Makefile, ...).</summary>
    Build,
    /// <summary>Files under a top-level doc/docs/documentation folder.</summary>
    Docs,
    Source,
    Test,
    /// <summary>Licences, change logs, data files (.csv, .jsonl, .svg), dot-config files.</summary>
    Other,
}

/// <summary>A text file kept by the scan: its '/'-separated path relative to the root, its language and its text (LF line ends).</summary>
public sealed record RepoFile(string Path, string Language, FileKind Kind, string Text, long Bytes);

/// <summary>A file or folder (path ending in '/') the scan left out, and why.</summary>
public sealed record SkippedPath(string Path, string Reason);

/// <summary>The outcome of scanning a folder.</summary>
public sealed record RepoScan(string Root, IReadOnlyList<RepoFile> Files, IReadOnlyList<SkippedPath> Skipped);
