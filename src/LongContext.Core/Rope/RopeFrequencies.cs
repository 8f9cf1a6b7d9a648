using LongContext.Formats.Config;

namespace LongContext.Core.Rope;

/// <summary>
/// The result of a RoPE initialisation, as HF's `ROPE_INIT_FUNCTIONS[rope_type](config, device, seq_len)` returns it:
/// `inv_freq` (float32, one per rotated pair, length RotaryDim/2) and the `attention_scaling` that multiplies cos/sin.
/// </summary>
public sealed record RopeFrequencies(float[] InvFreq, double AttentionScaling)
{
    /// <summary>Rotated channels per head: 2 · InvFreq.Length = int(head_dim · partial_rotary_factor).</summary>
    public int RotaryDim => InvFreq.Length * 2;

    /// <summary>
    /// inv_freq and attention scaling for <paramref name="rope"/>, bit-for-bit the arithmetic of HF
    /// `modeling_rope_utils.py` on CPU (float32 where HF works in float32, double where HF uses Python floats).
    /// <paramref name="seqLen"/> is HF's `seq_len` argument as a Python int: it matters for `dynamic` (base rescaled
    /// beyond max_position_embeddings) and `longrope` (long factors beyond original_max_position_embeddings).
    /// </summary>
    public static RopeFrequencies Compute(RopeParameters rope, int headDim, int maxPositionEmbeddings, int? seqLen = null)
    {
        ArgumentNullException.ThrowIfNull(rope);
        return rope.RopeType switch
        {
            "default" => DefaultRope.Compute(rope, headDim),
            "linear" => LinearRope.Compute(rope, headDim),
            "dynamic" => DynamicNtkRope.Compute(rope, headDim, maxPositionEmbeddings, seqLen),
            "yarn" => YarnRope.Compute(rope, headDim, maxPositionEmbeddings),
            "llama3" => Llama3Rope.Compute(rope, headDim, maxPositionEmbeddings),
            "longrope" => LongRope.Compute(rope, headDim, maxPositionEmbeddings, seqLen),
            _ => throw new ConfigException(
                $"rope_parameters.rope_type '{rope.RopeType}' is not supported; use one of " +
                $"{string.Join(", ", RopeParameters.SupportedTypes)} (config.json `rope_parameters` or `rope_scaling`)."),
        };
    }

    /// <summary>Same as <see cref="Compute(RopeParameters,int,int,int?)"/> with the model's head_dim and max positions.</summary>
    public static RopeFrequencies Compute(ModelConfig config, int? seqLen = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Compute(config.Rope, config.HeadDim, config.MaxPositionEmbeddings, seqLen);
    }
}
