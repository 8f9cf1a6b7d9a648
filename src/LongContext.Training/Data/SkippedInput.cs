using System.Globalization;
using System.Text.Json.Serialization;

namespace LongContext.Training.Data;

/// <summary>A file, folder ("dir/") or record ("file:line") a corpus reader left out, and why.</summary>
/// <param name="Path">Relative to the data root, '/' separators; folders end with '/'.</param>
/// <param name="Reason">Starts with the kind ("too large", "not a regular file", "unreadable folder", …), details in parentheses.</param>
public sealed record SkippedInput([property: JsonPropertyName("path")] string Path, [property: JsonPropertyName("reason")] string Reason)
{
    /// <summary>The reason without its details: what the summary groups by.</summary>
    [JsonIgnore] public string Kind => Reason.Split(" (", 2)[0];

    public override string ToString() => $"{Path}: {Reason}";

    public static SkippedInput TooLarge(string path, long bytes, long limit) => new(path, string.Create(CultureInfo.InvariantCulture,
        $"too large ({bytes:N0} bytes > the {limit:N0}-byte limit; raise it with --max-file-bytes)"));

    /// <summary>"3 too large, 1 not a regular file": counts by kind, most frequent first (null when nothing was skipped).</summary>
    public static string? Summarize(IReadOnlyCollection<SkippedInput> skipped)
    {
        if (skipped.Count == 0) return null;
        var kinds = skipped.GroupBy(s => s.Kind, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Count():N0} {g.Key}"));
        return string.Join(", ", kinds);
    }
}
