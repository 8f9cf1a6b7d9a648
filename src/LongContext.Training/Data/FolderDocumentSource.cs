using System.Text;

namespace LongContext.Training.Data;

/// <summary>
/// Every text file under a folder is one document (code, prose, markup), in ordinal order of the relative path.
/// Only regular files are read (<see cref="FileWalker"/>). Binary files (any NUL byte, or bytes that are not valid
/// UTF-8), empty and whitespace-only files, unreadable ones and everything the walk left out are listed in
/// <see cref="Skipped"/> with the reason; a UTF-8 byte-order mark is removed.
/// </summary>
public sealed class FolderDocumentSource : IDocumentSource
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly List<SkippedInput> _skipped = [];

    public FolderDocumentSource(string root, FolderSourceOptions? options = null)
    {
        Root = Path.GetFullPath(root);
        Options = options ?? new FolderSourceOptions();
    }

    public string Root { get; }
    public FolderSourceOptions Options { get; }

    public IReadOnlyList<SkippedInput> Skipped
    {
        get { lock (_skipped) return _skipped.ToArray(); }
    }

    public SourceDescription Describe()
    {
        var listing = Walk();
        return new("text", Root, new Dictionary<string, string>
        {
            ["include"] = FileWalker.Join(Options.Include),
            ["exclude"] = FileWalker.Join(Options.Exclude),
            ["excluded_directories"] = FileWalker.Join(Options.ExcludedDirectories),
            ["max_file_bytes"] = Options.MaxFileBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, listing.Files) { UnmatchedFiles = listing.Unmatched };
    }

    public IEnumerable<TextDocument> ReadDocuments(CancellationToken cancellationToken = default)
    {
        var listing = Walk();
        lock (_skipped)
        {
            _skipped.Clear();
            _skipped.AddRange(listing.Skipped);
        }
        foreach (var file in listing.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? text = ReadText(Path.Combine(Root, file.Path), out string? why);
            if (text is null)
            {
                lock (_skipped) _skipped.Add(new SkippedInput(file.Path, why!));
                continue;
            }
            yield return new TextDocument(file.Path, text);
        }
    }

    private FileListing Walk() =>
        FileWalker.List(Root, Options.Include, Options.Exclude, Options.ExcludedDirectories, Options.MaxFileBytes);

    /// <summary>The file as text, or null (with the reason) for unreadable, binary, non-UTF-8 or blank files.
    /// The path must be a regular file (a listed one): opening a named pipe would block.</summary>
    internal static string? ReadText(string path, out string? why)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = $"unreadable ({e.Message})";
            return null;
        }
        why = null;
        if (Array.IndexOf(bytes, (byte)0) >= 0)
        {
            why = "binary (contains NUL bytes)";
            return null;
        }
        ReadOnlySpan<byte> body = bytes;
        if (body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) body = body[3..];
        string text;
        try
        {
            text = StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            why = "not valid UTF-8";
            return null;
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            why = "empty";
            return null;
        }
        return text;
    }
}
