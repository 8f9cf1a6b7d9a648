using System.Text;

namespace LongContext.Training.Data;

/// <summary>
/// Every text file under a folder is one document (code, prose, markup), in ordinal order of the relative path.
/// Binary files (any NUL byte, or bytes that are not valid UTF-8) are skipped and listed in <see cref="Skipped"/>;
/// a UTF-8 byte-order mark is removed; empty and whitespace-only files are skipped.
/// </summary>
public sealed class FolderDocumentSource : IDocumentSource
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly List<string> _skipped = [];

    public FolderDocumentSource(string root, FolderSourceOptions? options = null)
    {
        Root = Path.GetFullPath(root);
        Options = options ?? new FolderSourceOptions();
    }

    public string Root { get; }
    public FolderSourceOptions Options { get; }

    public IReadOnlyList<string> Skipped
    {
        get { lock (_skipped) return _skipped.ToArray(); }
    }

    public SourceDescription Describe() => new("text", Root, new Dictionary<string, string>
    {
        ["include"] = FileWalker.Join(Options.Include),
        ["exclude"] = FileWalker.Join(Options.Exclude),
        ["excluded_directories"] = FileWalker.Join(Options.ExcludedDirectories),
        ["max_file_bytes"] = Options.MaxFileBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    }, ListFiles());

    public IEnumerable<TextDocument> ReadDocuments(CancellationToken cancellationToken = default)
    {
        lock (_skipped) _skipped.Clear();
        foreach (var file in ListFiles())
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? text = ReadText(Path.Combine(Root, file.Path), out string? why);
            if (text is null)
            {
                lock (_skipped) _skipped.Add($"{file.Path}: {why}");
                continue;
            }
            yield return new TextDocument(file.Path, text);
        }
    }

    private List<SourceFile> ListFiles() =>
        FileWalker.List(Root, Options.Include, Options.Exclude, Options.ExcludedDirectories, Options.MaxFileBytes);

    /// <summary>The file as text, or null (with the reason) for binary, non-UTF-8 or blank files.</summary>
    internal static string? ReadText(string path, out string? why)
    {
        byte[] bytes = File.ReadAllBytes(path);
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
