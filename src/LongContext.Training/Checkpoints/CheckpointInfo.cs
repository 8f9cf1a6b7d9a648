namespace LongContext.Training.Checkpoints;

/// <summary>A complete checkpoint on disk.</summary>
public sealed record CheckpointInfo(int Step, string Path);
