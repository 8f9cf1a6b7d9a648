namespace LongContext.Training.Checkpoints;

/// <summary>A file of a checkpoint and its size, as listed in manifest.json.</summary>
public sealed record CheckpointFile(string Name, long Bytes);

/// <summary>manifest.json: written last, so a checkpoint folder is complete exactly when it has one.</summary>
public sealed record CheckpointManifest(string Format, int Step, DateTimeOffset CreatedUtc, IReadOnlyList<CheckpointFile> Files)
{
    public const string CurrentFormat = "longcontext-trainer-checkpoint/1";
}
