namespace LongContext.Core.Weights;

/// <summary>What <see cref="SafetensorsCheckpoint.LoadInto"/> tolerates. Default: strict, except rotary
/// `inv_freq` buffers that old HF checkpoints persisted, which are always skipped.</summary>
public sealed record CheckpointLoadOptions
{
    /// <summary>Checkpoint tensors with no target that may be skipped (e.g. "lm_head.weight" when embeddings are tied).</summary>
    public IReadOnlyCollection<string> AllowedUnexpected { get; init; } = [];

    /// <summary>Skip every checkpoint tensor that has no target.</summary>
    public bool AllowAnyUnexpected { get; init; }

    /// <summary>Targets the checkpoint may lack; they keep their current values.</summary>
    public IReadOnlyCollection<string> AllowedMissing { get; init; } = [];

    public static readonly CheckpointLoadOptions Strict = new();

    internal static bool IsAlwaysIgnored(string name) => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);
}

/// <summary>Outcome of <see cref="SafetensorsCheckpoint.LoadInto"/>.</summary>
public sealed record CheckpointLoadReport(
    IReadOnlyList<string> Loaded, IReadOnlyList<string> SkippedUnexpected, IReadOnlyList<string> Missing, long BytesRead);

/// <summary>Progress of <see cref="SafetensorsCheckpoint.LoadInto"/>, reported after each tensor.</summary>
public readonly record struct CheckpointLoadProgress(string Name, int Done, int Total, long BytesDone, long BytesTotal);
