
namespace LongContext.Training.Plan;

/// <summary>
/// How one stage runs on the cluster: each sequence is split over a ring of <see cref="Ring"/> GPUs (zigzag
/// sequence parallelism), <see cref="DataParallel"/> rings run side by side, and ZeRO-3/FSDP shards the bf16 weights,
/// bf16 gradients and fp32 master weights + Adam moments over all <see cref="Gpus"/>. One sequence per ring per
/// micro-step; activations are checkpointed at each decoder layer's input; the LM head + loss run in chunks.
/// </summary>
public sealed record TrainingLayout(int Gpus, int Ring)
{
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
        if (Ring < 1 || Gpus % Ring != 0)
            throw new ConfigException($"--ring {Ring} must divide the GPU count {Gpus} (ring × data-parallel = GPUs).");
        if (Ring > 1 && sequenceLength % (2L * Ring) != 0)
            throw new ConfigException($"--ring {Ring}: zigzag ring attention cuts each sequence into {2 * Ring} equal chunks, which {sequenceLength} tokens do not allow.");
    }

    /// <summary>True when this ring size can run <paramref name="sequenceLength"/> (see <see cref="Validate"/>).</summary>
    public bool IsValidFor(long sequenceLength) =>
        Ring >= 1 && Gpus % Ring == 0 && (Ring == 1 || sequenceLength % (2L * Ring) == 0);
}
