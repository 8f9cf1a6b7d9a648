using System.Text.Json;

namespace LongContext.Training.Data;

/// <summary>
/// JSON Lines: each non-blank line is a JSON object whose <see cref="Field"/> (default "text") string is one
/// document. The path is one .jsonl file, or a folder whose *.jsonl files (recursive, ordinal order) are read.
/// A malformed line, a missing or non-string field is an error naming file:line. Blank texts are skipped.
/// </summary>
public sealed class JsonlDocumentSource : IDocumentSource
{
    private readonly List<string> _skipped = [];

    public JsonlDocumentSource(string path, string field = "text", FolderSourceOptions? folderOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        SourcePath = Path.GetFullPath(path);
        Field = field;
        FolderOptions = folderOptions ?? new FolderSourceOptions { Include = ["**/*.jsonl"], MaxFileBytes = long.MaxValue };
    }

    /// <summary>The .jsonl file or folder (absolute).</summary>
    public string SourcePath { get; }
    public string Field { get; }

    public IReadOnlyList<string> Skipped
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
        return new SourceDescription("jsonl", SourcePath, settings, ListFiles());
    }

    public IEnumerable<TextDocument> ReadDocuments(CancellationToken cancellationToken = default)
    {
        lock (_skipped) _skipped.Clear();
        foreach (var file in ListFiles())
        {
            string full = Path.Combine(Root, file.Path);
            using var reader = new StreamReader(full, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            long lineNo = 0;
            while (reader.ReadLine() is { } line)
            {
                lineNo++;
                cancellationToken.ThrowIfCancellationRequested();
                if (string.IsNullOrWhiteSpace(line)) continue;
                string text = ParseLine(line, full, lineNo);
                if (string.IsNullOrWhiteSpace(text))
                {
                    lock (_skipped) _skipped.Add($"{file.Path}:{lineNo}: empty text");
                    continue;
                }
                yield return new TextDocument($"{file.Path}:{lineNo}", text);
            }
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

    private List<SourceFile> ListFiles()
    {
        if (IsFile)
        {
            var info = new FileInfo(SourcePath);
            return [new SourceFile(info.Name, info.Length, info.LastWriteTimeUtc)];
        }
        if (!Directory.Exists(SourcePath)) throw new DataException($"{SourcePath}: JSONL file or folder not found");
        return FileWalker.List(SourcePath, FolderOptions.Include, FolderOptions.Exclude, FolderOptions.ExcludedDirectories, FolderOptions.MaxFileBytes);
    }
}
