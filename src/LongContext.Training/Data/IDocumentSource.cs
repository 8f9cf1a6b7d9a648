namespace LongContext.Training.Data;

/// <summary>A corpus that streams its documents in a fixed, deterministic order.</summary>
public interface IDocumentSource
{
    /// <summary>What the corpus is (kind, root, settings, file list with sizes and mtimes); reads no file contents.
    /// Two equal descriptions give the same documents, which is what lets a token cache be reused.</summary>
    SourceDescription Describe();

    /// <summary>Streams the documents; one file's text at a time is held in memory.</summary>
    IEnumerable<TextDocument> ReadDocuments(CancellationToken cancellationToken = default);

    /// <summary>Each file, folder or record the last <see cref="ReadDocuments"/> left out, with the reason.</summary>
    IReadOnlyList<SkippedInput> Skipped { get; }
}

/// <summary>A source file as the cache manifest records it (path relative to the root, '/' separators).</summary>
public sealed record SourceFile(string Path, long Bytes, DateTime LastWriteUtc);

/// <summary>Identity of a corpus: equal descriptions mean equal documents (for cache reuse).</summary>
public sealed record SourceDescription(string Kind, string Root, IReadOnlyDictionary<string, string> Settings, IReadOnlyList<SourceFile> Files)
{
    /// <summary>Files under the root the include/exclude globs did not select (not part of the identity).</summary>
    public int UnmatchedFiles { get; init; }

    public long TotalBytes => Files.Sum(f => f.Bytes);
}
