using System.Text.Json.Serialization;

namespace LongContext.Training.Optim;

/// <summary>How the learning rate moves after warmup.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LrScheduleKind>))]
public enum LrScheduleKind
{
    /// <summary>Cosine decay from learning_rate to learning_rate · min_lr_ratio at max_steps.</summary>
    Cosine,
    /// <summary>learning_rate for every step after warmup.</summary>
    Constant,
}
