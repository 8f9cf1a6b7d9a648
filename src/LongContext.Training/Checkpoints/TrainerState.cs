using LongContext.Training.Data;

namespace LongContext.Training.Checkpoints;

/// <summary>
/// trainer_state.json of a checkpoint: where the run is (steps, tokens, data cursor, schedule position) and the
/// fingerprint of everything that must match for a resume to continue the same trajectory. The loop draws no random
/// numbers (no dropout; data order is the data source's, restored through its cursor), so there is no RNG state.
/// </summary>
public sealed record TrainerState
{
    public const string FileName = "trainer_state.json";
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    /// <summary>Optimizer steps done.</summary>
    public required int Step { get; init; }
    public required long TokensSeen { get; init; }
    public required long PredictedTokensSeen { get; init; }
    /// <summary>The data source's cursor after the last micro-batch of <see cref="Step"/>.</summary>
    public required DataCursor DataCursor { get; init; }
    /// <summary>The learning rate the next step will use (the schedule is a pure function of the step; this is for people reading the file).</summary>
    public required double NextLearningRate { get; init; }
    public required string OptionsHash { get; init; }
    /// <summary>The options behind <see cref="OptionsHash"/>, by their JSON names.</summary>
    public required IReadOnlyDictionary<string, string> Trajectory { get; init; }
    public required double ElapsedSeconds { get; init; }
    /// <summary>Processes that trained up to this checkpoint (for people reading the file: a resume may use any number).</summary>
    public int WorldSize { get; init; } = 1;
}
