using LongContext.Formats.Config;

namespace LongContext.Training.Plan;

/// <summary>
/// Model FLOPs of causal-LM training (reference: long-context-recipes.md §6.2, causal-correct form):
/// per token 6·N + 6·layers·(heads·head_dim)·L, with N the matmul parameters (lm_head included, embedding lookup
/// excluded) and L the sequence length. The attention term is causal (half of the 12·layers·h·L that the Megatron
/// convention counts); GQA does not reduce it; activation recompute is not counted (it is hardware, not model, FLOPs).
/// </summary>
public static class FlopModel
{
    /// <summary>Dense part: 6 FLOPs per matmul parameter per token (forward 2, backward 4).</summary>
    public static double DenseFlopsPerToken(ModelConfig c) => 6.0 * ModelMath.MatmulParameterCount(c);

    /// <summary>Causal attention, averaged over the sequence: 6·layers·heads·head_dim·L per token.</summary>
    public static double AttentionFlopsPerToken(ModelConfig c, long sequenceLength) =>
        6.0 * c.NumHiddenLayers * ModelMath.QueryWidth(c) * sequenceLength;

    public static double TrainingFlopsPerToken(ModelConfig c, long sequenceLength) =>
        DenseFlopsPerToken(c) + AttentionFlopsPerToken(c, sequenceLength);
}
