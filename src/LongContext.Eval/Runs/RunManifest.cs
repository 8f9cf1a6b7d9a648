using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace LongContext.Eval.Runs;

/// <summary>manifest.json of a run folder: what was run, with what, and the hash that keys its results.</summary>
public sealed record RunManifest
{
    public const string FileName = "manifest.json";
    [JsonPropertyName("suite")] public required string Suite { get; init; }
    [JsonPropertyName("config_hash")] public required string ConfigHash { get; init; }
    /// <summary>Everything that changes prompts or scores (hashed into <see cref="ConfigHash"/>).</summary>
    [JsonPropertyName("config")] public required JsonObject Config { get; init; }
    [JsonPropertyName("backend")] public required string Backend { get; init; }
    [JsonPropertyName("prefix_placement")] public required string PrefixPlacement { get; init; }
    /// <summary>How the placement was chosen (e.g. --mode auto found /v1/completions and a known template).</summary>
    [JsonPropertyName("placement_note")] public string? PlacementNote { get; init; }
    [JsonPropertyName("lengths")] public required IReadOnlyList<int> Lengths { get; init; }
    [JsonPropertyName("depths")] public IReadOnlyList<double>? Depths { get; init; }
    [JsonPropertyName("tasks")] public IReadOnlyList<TaskNote> Tasks { get; init; } = [];
    [JsonPropertyName("created_utc")] public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;

    /// <summary>First 12 hex digits of SHA-256 over the config's JSON (property order as built).</summary>
    public static string Hash(JsonObject config) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(config.ToJsonString())))[..12];

    public void Write(string runDir)
    {
        Directory.CreateDirectory(runDir);
        var path = Path.Combine(runDir, FileName);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public static RunManifest Read(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        if (!File.Exists(path)) throw new EvalException($"{runDir}: no {FileName}; give a folder written by `longctx eval niah|ruler --out DIR`.");
        try { return JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new EvalException($"{path}: unreadable manifest ({e.Message})."); }
    }
}

/// <summary>Per-task availability and comparability, shown in the report.</summary>
public sealed record TaskNote(
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("available")] bool Available,
    [property: JsonPropertyName("comparable")] bool Comparable,
    [property: JsonPropertyName("note")] string Note);
