
namespace LongContext.Training.Plan;

/// <summary>
/// How one stage runs on the cluster, as the trainer runs it: each sequence is split over a ring of <see cref="Ring"/>
/// GPUs (zigzag sequence parallelism), <see cref="DataParallel"/> rings run side by side, every GPU holds the whole
/// bf16 model, and the fp32 master weights + Adam moments are sharded over all <see cref="Gpus"/> (ZeRO-1/2,
/// <see cref="Zero"/>; the gradients too with ZeRO-2). One sequence per ring per micro-step; activations are
/// checkpointed at each decoder layer's input; the LM head + loss run in chunks.
/// </summary>
public sealed record TrainingLayout(int Gpus, int Ring)
{
    /// <summary>
    /// Optimizer-state sharding of the run (`--zero`): 0 replicates AdamW on every GPU; 1 shards masters and moments;
    /// 2 also keeps only each GPU's fp32 shard of the gradients. Parameters are never sharded (no ZeRO-3).
    /// </summary>
    public int Zero { get; init; } = 2;
    /// <summary>Gradient bucket size of the data-parallel reduction (`--grad-bucket-mb`).</summary>
    public long BucketBytes { get; init; } = 25L << 20;
    /// <summary>Keep fp32 master weights and Adam m, v in host memory (DeepSpeed ZeRO-3 offload, as EasyContext does).</summary>
    public bool OffloadOptimizer { get; init; }
    /// <summary>Tokens per chunk of the LM head + cross-entropy (the only place [tokens, vocab] logits exist).</summary>
    public int LmHeadChunkTokens { get; init; } = 2048;
    /// <summary>Fixed allowance per GPU for the CUDA context, NCCL buffers and allocator fragmentation.</summary>
    public long ReserveBytes { get; init; } = 2L << 30;

    public int DataParallel => Gpus / Ring;

    /// <summary>Tokens of one sequence that each GPU of a ring holds.</summary>
    public long ShardTokens(long sequenceLength) => sequenceLength / Ring;

    /// <summary>Throws unless the ring divides the GPU count and the zigzag split (2·ring equal chunks) divides the length.</summary>
    public void Validate(long sequenceLength)
    {
        if (Gpus < 1) throw new ConfigException($"--gpus: need at least one GPU (got {Gpus}).");
        if (Zero is < 0 or > 2) throw new ConfigException($"--zero {Zero}: expected 0, 1 or 2.");
        if (Ring < 1 || Gpus % Ring != 0)
            throw new ConfigException($"--ring {Ring} must divide the GPU count {Gpus} (ring × data-parallel = GPUs).");
        if (Ring > 1 && sequenceLength % (2L * Ring) != 0)
            throw new ConfigException($"--ring {Ring}: zigzag ring attention cuts each sequence into {2 * Ring} equal chunks, which {sequenceLength} tokens do not allow.");
    }

    /// <summary>True when this ring size can run <paramref name="sequenceLength"/> (see <see cref="Validate"/>).</summary>
    public bool IsValidFor(long sequenceLength) =>
        Ring >= 1 && Gpus % Ring == 0 && (Ring == 1 || sequenceLength % (2L * Ring) == 0);
}
