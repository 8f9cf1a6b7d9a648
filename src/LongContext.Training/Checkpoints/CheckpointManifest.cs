using System.Text.Json.Serialization;

namespace LongContext.Training.Checkpoints;

/// <summary>A file of a checkpoint, its size and its content hash (<see cref="ContentHash"/>; absent in format 1), as listed in manifest.json.</summary>
public sealed record CheckpointFile(string Name, long Bytes, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Xxh128 = null);

/// <summary>
/// manifest.json: written last, by rank 0, once every rank's files are durable, so a checkpoint folder is complete
/// exactly when it has one. Lists every file with its size and hash.
/// </summary>
/// <param name="WorldSize">Processes that wrote the checkpoint (each its optimizer part when the state was sharded).</param>
public sealed record CheckpointManifest(string Format, int Step, DateTimeOffset CreatedUtc, IReadOnlyList<CheckpointFile> Files, int WorldSize = 1)
{
    /// <summary>Format 2: files carry content hashes. Format 1 (sizes only) is still read.</summary>
    public const string CurrentFormat = "longcontext-trainer-checkpoint/2";
    public const string SizesOnlyFormat = "longcontext-trainer-checkpoint/1";
}
