using System.Text.Json.Serialization;

namespace LongContext.Training.Checkpoints;

/// <summary>What a resume does with a checkpoint whose files do not match their manifest (flipped bytes, a torn or missing file).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DamagedCheckpointPolicy>))]
public enum DamagedCheckpointPolicy
{
    /// <summary>Fall back to the newest undamaged checkpoint, naming the damaged file; the damaged folder is set aside as step-N.damaged.</summary>
    Skip,
    /// <summary>Stop with the error naming the damaged file.</summary>
    Fail,
    /// <summary>Resume from the newest checkpoint even when its hashes differ (files must still be present at their sizes).</summary>
    Use,
}
