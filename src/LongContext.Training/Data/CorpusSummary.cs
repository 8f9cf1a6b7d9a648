using System.Globalization;
using System.Text.Json.Serialization;

namespace LongContext.Training.Data;

/// <summary>
/// What a training command got from its data path, for its output: documents and tokens, whether the token cache
/// was reused, and every file, folder or record left out with the reason (the full list is also in the cache's
/// manifest.json).
/// </summary>
public sealed record CorpusSummary
{
    [JsonPropertyName("cache_dir")] public required string CacheDir { get; init; }
    [JsonPropertyName("reused")] public required bool Reused { get; init; }
    /// <summary>Why the cache was (re)built, or that it matched.</summary>
    [JsonPropertyName("reason")] public required string Reason { get; init; }
    [JsonPropertyName("documents")] public required long Documents { get; init; }
    [JsonPropertyName("tokens")] public required long Tokens { get; init; }
    [JsonPropertyName("skipped_count")] public long SkippedCount => Skipped.Count;
    [JsonPropertyName("skipped")] public required IReadOnlyList<SkippedInput> Skipped { get; init; }

    public static CorpusSummary From(TokenCacheResult result) => new()
    {
        CacheDir = result.Cache.Directory,
        Reused = result.Reused,
        Reason = result.Reason,
        Documents = result.Cache.Manifest.Documents,
        Tokens = result.Cache.Manifest.Tokens,
        Skipped = result.Cache.Manifest.Skipped,
    };

    /// <summary>
    /// One line ("data: 1,204 documents, 3,481,220 tokens (cache reused); skipped 3: 2 too large, 1 not a regular
    /// file") and, when something was skipped, up to <paramref name="examples"/> entries and where the full list is.
    /// </summary>
    public IEnumerable<string> Lines(int examples = 5)
    {
        var cache = Reused ? "cache reused" : $"tokenized: {Reason}";
        var line = string.Create(CultureInfo.InvariantCulture, $"data: {Documents:N0} documents, {Tokens:N0} tokens ({cache})");
        if (Skipped.Count == 0)
        {
            yield return line;
            yield break;
        }
        yield return string.Create(CultureInfo.InvariantCulture, $"{line}; skipped {Skipped.Count:N0}: {SkippedInput.Summarize(Skipped)}");
        // The entries worth reading first: anything but the routine excluded folders.
        foreach (var s in Skipped.OrderBy(s => s.Kind == "excluded folder" ? 1 : 0).Take(examples)) yield return $"  skipped {s}";
        if (Skipped.Count > examples)
            yield return $"  … {Skipped.Count - examples:N0} more in {Path.Combine(CacheDir, TokenCacheManifest.ManifestFile)} (\"skipped\") or with --json";
    }
}
