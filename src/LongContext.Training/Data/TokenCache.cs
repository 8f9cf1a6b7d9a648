using System.IO.MemoryMappedFiles;

namespace LongContext.Training.Data;

/// <summary>
/// A token cache folder opened read-only through memory maps: tokens.bin (uint32 LE ids, all documents end to
/// end) and documents.bin (int64 LE offsets, one per document plus the total). Nothing is loaded whole, so a
/// multi-GB cache costs only the pages that are read. Thread-safe for reads; dispose to unmap.
/// </summary>
public sealed unsafe class TokenCache : ITokenCorpus, IDisposable
{
    private readonly MappedFile _tokens;
    private readonly MappedFile _offsets;

    private TokenCache(string directory, TokenCacheManifest manifest, MappedFile tokens, MappedFile offsets)
    {
        Directory = directory;
        Manifest = manifest;
        _tokens = tokens;
        _offsets = offsets;
    }

    public string Directory { get; }
    public TokenCacheManifest Manifest { get; }
    public long DocumentCount => Manifest.Documents;
    public long TokenCount => Manifest.Tokens;

    /// <summary>Opens a complete cache; a missing, truncated or inconsistent file is a <see cref="DataException"/>.</summary>
    public static TokenCache Open(string directory)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("token caches are read on little-endian machines only");
        var manifest = TokenCacheManifest.Read(Path.Combine(directory, TokenCacheManifest.ManifestFile));
        if (manifest.Documents < 1 || manifest.Tokens < manifest.Documents)
            throw new DataException($"{directory}: manifest says {manifest.Documents} documents and {manifest.Tokens} tokens; delete the folder to rebuild the cache");
        string tokensPath = Path.Combine(directory, TokenCacheManifest.TokensFile);
        string offsetsPath = Path.Combine(directory, TokenCacheManifest.DocumentsFile);
        CheckLength(tokensPath, manifest.Tokens * sizeof(uint), directory);
        CheckLength(offsetsPath, (manifest.Documents + 1) * sizeof(long), directory);
        var tokens = new MappedFile(tokensPath);
        MappedFile? offsets = null;
        try
        {
            offsets = new MappedFile(offsetsPath);
            var cache = new TokenCache(directory, manifest, tokens, offsets);
            long first = cache.DocumentStart(0), last = cache.DocumentStart(manifest.Documents);
            if (first != 0 || last != manifest.Tokens)
                throw new DataException($"{offsetsPath}: offsets run {first}..{last}, expected 0..{manifest.Tokens}: the cache is damaged; delete {directory} to rebuild it");
            return cache;
        }
        catch
        {
            tokens.Dispose();
            offsets?.Dispose();
            throw;
        }
    }

    private static void CheckLength(string path, long expected, string directory)
    {
        if (!File.Exists(path)) throw new DataException($"{path} is missing: the token cache is incomplete; delete {directory} to rebuild it");
        long actual = new FileInfo(path).Length;
        if (actual != expected)
            throw new DataException($"{path} is {actual:N0} bytes but its manifest says {expected:N0}: the token cache is truncated or damaged; delete {directory} to rebuild it");
    }

    public long DocumentStart(long document)
    {
        if ((ulong)document > (ulong)DocumentCount) throw new ArgumentOutOfRangeException(nameof(document), $"document {document} outside [0, {DocumentCount}]");
        return ((long*)_offsets.Pointer)[document];
    }

    public void CopyTokens(long start, Span<long> destination)
    {
        if (start < 0 || start + destination.Length > TokenCount)
            throw new ArgumentOutOfRangeException(nameof(start), $"tokens [{start}, {start + destination.Length}) outside [0, {TokenCount})");
        uint* source = (uint*)_tokens.Pointer + start;
        for (int i = 0; i < destination.Length; i++) destination[i] = source[i];
    }

    public void Dispose()
    {
        _tokens.Dispose();
        _offsets.Dispose();
    }

    /// <summary>A whole file mapped read-only, with its base pointer acquired for the lifetime of the map.</summary>
    private sealed class MappedFile : IDisposable
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private bool _disposed;

        public MappedFile(string path)
        {
            _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            Pointer = p + _view.PointerOffset;
        }

        public byte* Pointer { get; }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }
}
