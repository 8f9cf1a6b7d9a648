using LongContext.Formats.Config;

namespace LongContext.Training.Plan;

/// <summary>
/// Per-GPU training memory for one stage under a <see cref="TrainingLayout"/>, as the trainer runs it (data
/// parallelism with ZeRO-1/2, LongContext.Parallel's DataParallelTopology): every GPU holds the whole bf16 model; the
/// fp32 masters and Adam moments (12 bytes per parameter) are split over all GPUs; gradients are whole bf16 (ZeRO
/// 0/1) or an fp32 shard plus the bf16 gradients the backward is producing (ZeRO-2). Assumes flash attention (no L×L
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
        long optimizerShard = layout.Zero == 0 ? 12 * n : CeilDiv(12 * n, g);
        // ZeRO-2: each GPU's fp32 shard of the summed gradients, plus the bf16 gradients in the making: a decoder
        // layer's (its bucket leaves as soon as the backward has left the layer) or the embedding's/LM head's.
        long gradients = layout.Zero == 2 && g > 1
            ? CeilDiv(4 * n, g) + 2 * Math.Max(layerParams, embedParams)
            : 2 * n;

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
            Weights = 2 * n,
            Gradients = gradients,
            Optimizer = layout.OffloadOptimizer ? 0 : optimizerShard,
            HostOptimizer = layout.OffloadOptimizer ? optimizerShard : 0,
            // Two gradient buckets being reduced and two parameter buckets being all-gathered after the update.
            CommunicationBuffers = g > 1 ? 4 * layout.BucketBytes : 0,
            Checkpoints = c.NumHiddenLayers * s * h * 2,
            LayerWorkingSet = s * layerBytesPerToken,
            RingBuffers = s * ringBytesPerToken,
            LmHeadChunk = Math.Min(s, layout.LmHeadChunkTokens) * (long)c.VocabSize * 8,
            Reserve = layout.ReserveBytes,
        };
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
