using LongContext.Formats.Config;

namespace LongContext.Training.Plan;

/// <summary>
/// Per-GPU training memory for one stage under a <see cref="TrainingLayout"/>. Assumes flash attention (no L×L
/// scores), per-layer activation checkpointing, a chunked LM head (no [L, vocab] logits) and a micro-batch of one
/// sequence per ring. All activations are bf16 unless stated.
/// </summary>
public static class MemoryModel
{
    public static MemoryEstimate Estimate(ModelConfig c, long sequenceLength, TrainingLayout layout)
    {
        layout.Validate(sequenceLength);
        long n = ModelMath.ParameterCount(c);
        long g = layout.Gpus;
        long s = layout.ShardTokens(sequenceLength);
        long h = c.HiddenSize, q = ModelMath.QueryWidth(c), kv = ModelMath.KeyValueWidth(c), i = c.IntermediateSize;
        long layerParams = ModelMath.LayerParameterCount(c);
        long embedParams = ModelMath.EmbeddingParameterCount(c);
        long optimizerShard = CeilDiv(12 * n, g);

        // Per token of one layer, bf16 elements live during recompute + backward:
        //   attention: norm out h, q, k, v, attention out q, o_proj out h          = 2h + 2q + 2kv
        //   MLP:       norm out h, gate I, up I, silu(gate) I, product I, down out h = 2h + 4I
        //   gradients in flight: d(hidden) h, d(gate) I, d(up) I                   = h + 2I
        // plus the attention log-sum-exp in fp32 (4 bytes per query head).
        long layerBytesPerToken = 2 * (5 * h + 2 * q + 2 * kv + 6 * i) + 4L * c.NumAttentionHeads;

        // Ring (only when the sequence is split): K,V send + receive (2·2kv bf16), dK,dV send + receive (2·2kv bf16),
        // fp32 dK,dV accumulators (2kv·4), fp32 out and dq accumulators (2q·4).
        long ringBytesPerToken = layout.Ring > 1 ? 8 * kv + 8 * kv + 8 * kv + 8 * q : 0;

        return new MemoryEstimate
        {
            ShardTokens = s,
            Weights = CeilDiv(2 * n, g),
            Gradients = CeilDiv(2 * n, g),
            Optimizer = layout.OffloadOptimizer ? 0 : optimizerShard,
            HostOptimizer = layout.OffloadOptimizer ? optimizerShard : 0,
            GatheredParameters = g > 1 ? Math.Max(2 * (2 * layerParams) + 2 * layerParams, 2 * embedParams + 2 * embedParams) : 0,
            Checkpoints = c.NumHiddenLayers * s * h * 2,
            LayerWorkingSet = s * layerBytesPerToken,
            RingBuffers = s * ringBytesPerToken,
            LmHeadChunk = Math.Min(s, layout.LmHeadChunkTokens) * (long)c.VocabSize * 8,
            Reserve = layout.ReserveBytes,
        };
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
