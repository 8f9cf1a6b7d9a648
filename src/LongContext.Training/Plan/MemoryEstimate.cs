namespace LongContext.Training.Plan;

/// <summary>Training memory per GPU for one stage, in bytes, by part (see <see cref="MemoryModel"/> for the formulas).</summary>
public sealed record MemoryEstimate
{
    /// <summary>Tokens of the sequence held by each GPU (length / ring).</summary>
    public required long ShardTokens { get; init; }
    /// <summary>bf16 weights, ZeRO-3 shard: 2·N / GPUs.</summary>
    public required long Weights { get; init; }
    /// <summary>bf16 gradients, ZeRO-3 shard: 2·N / GPUs.</summary>
    public required long Gradients { get; init; }
    /// <summary>fp32 master weights + Adam m, v on the GPU: 12·N / GPUs (0 with optimizer offload).</summary>
    public required long Optimizer { get; init; }
    /// <summary>ZeRO-3 all-gathered parameters in use: max(2 layers' bf16 weights + 1 layer's bf16 grads, embedding/LM-head weights + grads).</summary>
    public required long GatheredParameters { get; init; }
    /// <summary>Checkpointed decoder-layer inputs: layers × shard tokens × hidden × 2 bytes.</summary>
    public required long Checkpoints { get; init; }
    /// <summary>One layer's forward recompute + backward working set for the shard (MLP intermediate included).</summary>
    public required long LayerWorkingSet { get; init; }
    /// <summary>Ring attention buffers: K/V and dK/dV in flight (bf16, double-buffered), fp32 out/dq/dk/dv accumulators.</summary>
    public required long RingBuffers { get; init; }
    /// <summary>One chunk of LM-head logits and their gradient in fp32.</summary>
    public required long LmHeadChunk { get; init; }
    /// <summary>CUDA context, NCCL buffers, fragmentation.</summary>
    public required long Reserve { get; init; }
    /// <summary>fp32 master weights + Adam m, v held in host memory per GPU when offloaded (not in <see cref="Total"/>).</summary>
    public required long HostOptimizer { get; init; }

    public long Total => Weights + Gradients + Optimizer + GatheredParameters + Checkpoints + LayerWorkingSet + RingBuffers + LmHeadChunk + Reserve;
}
