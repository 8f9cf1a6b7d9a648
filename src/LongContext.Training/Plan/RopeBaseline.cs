using LongContext.Formats.Config;

namespace LongContext.Training.Plan;

/// <summary>
/// What the θ rules start from: the pre-trained base θ₀, the length the model was pre-trained at with that base
/// (T_train of the scaling law), and the number of rotated dimensions per head.
/// </summary>
public sealed record RopeBaseline(double Theta0, long TrainedLength, int RotaryDim)
{
    /// <summary>
    /// From a config: θ₀ = rope_theta. T_train = original_max_position_embeddings when the config already applies a
    /// RoPE scaling (llama3, yarn, linear, dynamic, longrope) — the length trained with the unscaled base — else
    /// max_position_embeddings. The planned stages use plain RoPE (rope_type default) with the stage's θ.
    /// </summary>
    public static RopeBaseline From(ModelConfig config)
    {
        var rope = config.Rope;
        long trained = rope.RopeType != "default" && rope.OriginalMaxPositionEmbeddings is { } original
            ? original
            : config.MaxPositionEmbeddings;
        int rotary = (int)Math.Round(config.HeadDim * rope.PartialRotaryFactor);
        return new RopeBaseline(rope.RopeTheta, trained, rotary);
    }
}
