namespace LongContext.Training.Plan;

/// <summary>Training memory per GPU for one stage, in bytes, by part (see <see cref="MemoryModel"/> for the formulas).</summary>
public sealed record MemoryEstimate
{
    /// <summary>Tokens of the sequence held by each GPU (length / ring).</summary>
    public required long ShardTokens { get; init; }
    /// <summary>bf16 weights, whole on every GPU: 2·N.</summary>
    public required long Weights { get; init; }
    /// <summary>Gradients: bf16 whole, 2·N (ZeRO 0/1), or the fp32 shard 4·N / GPUs + the bf16 gradients of one layer or the embedding (ZeRO-2).</summary>
    public required long Gradients { get; init; }
    /// <summary>fp32 master weights + Adam m, v on the GPU: 12·N / GPUs with ZeRO-1/2, 12·N with ZeRO-0 (0 with optimizer offload).</summary>
    public required long Optimizer { get; init; }
    /// <summary>Data-parallel buffers: gradient buckets being reduced and parameter buckets being all-gathered (4 buckets; 0 on one GPU).</summary>
    public required long CommunicationBuffers { get; init; }
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

    public long Total => Weights + Gradients + Optimizer + CommunicationBuffers + Checkpoints + LayerWorkingSet + RingBuffers + LmHeadChunk + Reserve;
}
