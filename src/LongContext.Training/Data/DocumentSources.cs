namespace LongContext.Training.Data;

/// <summary>How a data path is read.</summary>
public enum DataFormat
{
    /// <summary>A *.jsonl file → JSONL; a folder → every text file in it.</summary>
    Auto,
    /// <summary>Every text file under a folder is a document.</summary>
    Text,
    /// <summary>A .jsonl file, or every *.jsonl file under a folder.</summary>
    Jsonl,
}

/// <summary>Opens the reader a data path calls for.</summary>
public static class DocumentSources
{
    /// <param name="maxFileBytes">Overrides the size limit of the reader's file selection (folder default 8 MiB, JSONL none).</param>
    public static IDocumentSource Open(string path, DataFormat format = DataFormat.Auto, FolderSourceOptions? folderOptions = null,
        string jsonlField = "text", long? maxFileBytes = null)
    {
        bool isFile = File.Exists(path);
        if (!isFile && !Directory.Exists(path)) throw new DataException($"{path}: data path not found (give a folder of text files or a .jsonl file)");
        if (format == DataFormat.Auto)
            format = isFile && (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
                ? DataFormat.Jsonl : DataFormat.Text;
        if (maxFileBytes is <= 0) throw new DataException($"max_file_bytes {maxFileBytes}: give a positive byte count");
        if (format == DataFormat.Jsonl)
        {
            var jsonl = folderOptions ?? JsonlDocumentSource.DefaultFolderOptions;
            return new JsonlDocumentSource(path, jsonlField, maxFileBytes is long jl ? jsonl with { MaxFileBytes = jl } : jsonl);
        }
        if (isFile) throw new DataException($"{path}: a text corpus is a folder; for a single JSON Lines file use the .jsonl extension or the jsonl format");
        var folder = folderOptions ?? new FolderSourceOptions();
        return new FolderDocumentSource(path, maxFileBytes is long fl ? folder with { MaxFileBytes = fl } : folder);
    }
}
