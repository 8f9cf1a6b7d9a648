using System.Text.Json;
using System.Text.Json.Serialization;

namespace LongContext.Training.Data;

/// <summary>
/// manifest.json of a token cache (docs/training-data.md). <see cref="Key"/> holds everything the cached tokens
/// depend on; a cache is reused only when its key equals the one computed now. The manifest is written last, so a
/// cache folder is complete only when its manifest exists.
/// </summary>
public sealed record TokenCacheManifest
{
    public const string FormatName = "longctx-token-cache";
    public const int CurrentVersion = 2;   // 2: skipped entries are {path, reason} objects, all of them
    public const string TokensFile = "tokens.bin";
    public const string DocumentsFile = "documents.bin";
    public const string ManifestFile = "manifest.json";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string Format { get; init; } = FormatName;
    public int Version { get; init; } = CurrentVersion;
    /// <summary>tokens.bin element type: unsigned 32-bit little-endian.</summary>
    public string TokenDtype { get; init; } = "uint32le";
    /// <summary>documents.bin element type: signed 64-bit little-endian offsets, DocumentCount + 1 of them.</summary>
    public string IndexDtype { get; init; } = "int64le";
    public required TokenCacheKey Key { get; init; }
    /// <summary>Where the tokenizer came from (informational; not part of the key).</summary>
    public string? TokenizerSource { get; init; }
    public long Documents { get; init; }
    public long Tokens { get; init; }
    public long LongestDocument { get; init; }
    public long SkippedCount { get; init; }
    /// <summary>Every file, folder or line the reader left out, with the reason.</summary>
    public IReadOnlyList<SkippedInput> Skipped { get; init; } = [];
    public DateTime CreatedUtc { get; init; }
    public double BuildSeconds { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TokenCacheManifest Read(string path)
    {
        if (!File.Exists(path)) throw new DataException($"{path} not found: not a token cache folder (or its build did not finish)");
        TokenCacheManifest? manifest;
        try
        {
            // Format and version first: an older manifest may not deserialize into this record at all.
            using (var doc = JsonDocument.Parse(File.ReadAllText(path)))
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String
                    || format.GetString() != FormatName)
                    throw new DataException($"{path}: not a {FormatName} manifest");
                if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != CurrentVersion)
                    throw new DataException($"{path}: token cache format version {(root.TryGetProperty("version", out var w) ? w.ToString() : "?")}, this build reads {CurrentVersion}; delete the cache folder to rebuild it");
                manifest = root.Deserialize<TokenCacheManifest>(Json);
            }
        }
        catch (JsonException e)
        {
            throw new DataException($"{path}: damaged token cache manifest ({e.Message}); delete the cache folder to rebuild it");
        }
        if (manifest is null) throw new DataException($"{path}: not a {FormatName} manifest");
        return manifest;
    }
}

/// <summary>Everything cached tokens depend on: tokenizer, special-token handling and the exact source files.</summary>
public sealed record TokenCacheKey
{
    public required string TokenizerSha256 { get; init; }
    public int VocabSize { get; init; }
    public int? BosTokenId { get; init; }
    /// <summary>The id appended at the end of each document, or null when none is.</summary>
    public int? EosTokenId { get; init; }
    public bool AddSpecialTokens { get; init; }
    public required string SourceKind { get; init; }
    public required string SourceRoot { get; init; }
    /// <summary>Reader settings (globs, field name, size limit); written in ordinal key order.</summary>
    public required SortedDictionary<string, string> SourceSettings { get; init; }
    public required IReadOnlyList<SourceFile> SourceFiles { get; init; }

    /// <summary>Why a cache built with <paramref name="cached"/> cannot serve this key, or null when it can.</summary>
    public string? Mismatch(TokenCacheKey cached)
    {
        if (cached.TokenizerSha256 != TokenizerSha256 || cached.VocabSize != VocabSize || cached.BosTokenId != BosTokenId)
            return "the tokenizer changed";
        if (cached.EosTokenId != EosTokenId || cached.AddSpecialTokens != AddSpecialTokens) return "the BOS/EOS settings changed";
        if (cached.SourceKind != SourceKind || cached.SourceRoot != SourceRoot || cached.SourceSettings.Count != SourceSettings.Count
            || SourceSettings.Any(kv => !cached.SourceSettings.TryGetValue(kv.Key, out var v) || v != kv.Value))
            return "the data path or its reader settings changed";
        if (cached.SourceFiles.Count != SourceFiles.Count) return $"the data has {SourceFiles.Count} files, the cache {cached.SourceFiles.Count}";
        for (int i = 0; i < SourceFiles.Count; i++)
            if (cached.SourceFiles[i] != SourceFiles[i]) return $"{SourceFiles[i].Path} changed (or was added/removed)";
        return null;
    }
}
