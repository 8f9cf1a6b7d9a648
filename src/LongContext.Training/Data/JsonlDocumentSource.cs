using System.Text.Json;

namespace LongContext.Training.Data;

/// <summary>
/// JSON Lines: each non-blank line is a JSON object whose <see cref="Field"/> (default "text") string is one
/// document. The path is one .jsonl file, or a folder whose *.jsonl files (recursive, ordinal order) are read.
/// A malformed line, a missing or non-string field is an error naming file:line. Blank texts are skipped.
/// </summary>
public sealed class JsonlDocumentSource : IDocumentSource
{
    private readonly List<SkippedInput> _skipped = [];

    public JsonlDocumentSource(string path, string field = "text", FolderSourceOptions? folderOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        SourcePath = Path.GetFullPath(path);
        Field = field;
        FolderOptions = folderOptions ?? DefaultFolderOptions;
    }

    /// <summary>Every *.jsonl file under the folder, whatever its size.</summary>
    public static FolderSourceOptions DefaultFolderOptions { get; } = new() { Include = ["**/*.jsonl"], MaxFileBytes = long.MaxValue };

    /// <summary>The .jsonl file or folder (absolute).</summary>
    public string SourcePath { get; }
    public string Field { get; }

    public IReadOnlyList<SkippedInput> Skipped
    {
        get { lock (_skipped) return _skipped.ToArray(); }
    }
    /// <summary>Which files are read when the path is a folder (default: every *.jsonl, no size limit).</summary>
    public FolderSourceOptions FolderOptions { get; }

    private bool IsFile => File.Exists(SourcePath);
    private string Root => IsFile ? Path.GetDirectoryName(SourcePath)! : SourcePath;

    public SourceDescription Describe()
    {
        var settings = new Dictionary<string, string> { ["field"] = Field };
        if (!IsFile)
        {
            settings["include"] = FileWalker.Join(FolderOptions.Include);
            settings["exclude"] = FileWalker.Join(FolderOptions.Exclude);
            settings["excluded_directories"] = FileWalker.Join(FolderOptions.ExcludedDirectories);
        }
        var listing = ListFiles();
        return new SourceDescription("jsonl", SourcePath, settings, listing.Files) { UnmatchedFiles = listing.Unmatched };
    }

    public IEnumerable<TextDocument> ReadDocuments(CancellationToken cancellationToken = default)
    {
        var listing = ListFiles();
        lock (_skipped)
        {
            _skipped.Clear();
            _skipped.AddRange(listing.Skipped);
        }
        foreach (var file in listing.Files)
        {
            string full = Path.Combine(Root, file.Path);
            using var reader = Open(full, out string? why);
            if (reader is null)
            {
                lock (_skipped) _skipped.Add(new SkippedInput(file.Path, why!));
                continue;
            }
            long lineNo = 0;
            while (reader.ReadLine() is { } line)
            {
                lineNo++;
                cancellationToken.ThrowIfCancellationRequested();
                if (string.IsNullOrWhiteSpace(line)) continue;
                string text = ParseLine(line, full, lineNo);
                if (string.IsNullOrWhiteSpace(text))
                {
                    lock (_skipped) _skipped.Add(new SkippedInput($"{file.Path}:{lineNo}", "empty text"));
                    continue;
                }
                yield return new TextDocument($"{file.Path}:{lineNo}", text);
            }
        }
    }

    private static StreamReader? Open(string path, out string? why)
    {
        why = null;
        try
        {
            return new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = $"unreadable ({e.Message})";
            return null;
        }
    }

    private string ParseLine(string line, string file, long lineNo)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new DataException($"{file}:{lineNo}: not valid JSON ({e.Message}); each line of a .jsonl file must be one JSON object");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataException($"{file}:{lineNo}: expected a JSON object with a \"{Field}\" field, found {doc.RootElement.ValueKind}");
            if (!doc.RootElement.TryGetProperty(Field, out var value))
                throw new DataException($"{file}:{lineNo}: no \"{Field}\" field; name the text field with the field option (e.g. \"content\")");
            if (value.ValueKind != JsonValueKind.String)
                throw new DataException($"{file}:{lineNo}: \"{Field}\" is {value.ValueKind}, expected a string");
            return value.GetString()!;
        }
    }

    private FileListing ListFiles()
    {
        if (IsFile)
        {
            var type = FileType.Of(SourcePath, followLinks: true);
            if (type.Kind != FileKind.Regular)
                throw new DataException($"{SourcePath}: not a regular file ({(type.Error ?? FileType.Describe(type.Kind))}); give a .jsonl file or a folder of them (a pipe can be read only once, so it cannot back a token cache)");
            var info = new FileInfo(SourcePath);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
            return new FileListing([new SourceFile(Path.GetFileName(SourcePath), info.Length, info.LastWriteTimeUtc)], [], 0);
        }
        if (!Directory.Exists(SourcePath)) throw new DataException($"{SourcePath}: JSONL file or folder not found");
        return FileWalker.List(SourcePath, FolderOptions.Include, FolderOptions.Exclude, FolderOptions.ExcludedDirectories, FolderOptions.MaxFileBytes);
    }
}
