using LongContext.Training.Data;
using static TorchSharp.torch;

namespace LongContext.Training.Topology;

/// <summary>
/// The seams where distributed training plugs into one optimizer step, in the order the trainer calls them
/// (docs/architecture.md, "Training step"):
/// <code>
/// fetch the step's micro-batches from the one global stream
///   → ShardBatch          which micro-batches this process computes, each cut to its sequence shard
///   → GlobalTokenCount    the denominator of the mean loss, over every process
///   → micro-steps         forward + backward of each micro-batch (loss sum / global tokens)
///   → SyncGradients       gradients made whole (data parallel: all-reduce or reduce-scatter)
///   → clip                GlobalGradNorm turns this process's gradient norm into the global one
///   → Agree               collective decisions: the NaN guard and the stop request (and, through
///                         AgreeRecomputedLayers, the activation-checkpoint plan)
///   → optimizer step → zero grad → log (rank 0 writes)
/// </code>
/// With one process (<see cref="SingleProcessTopology"/>) every method is the identity. Data parallelism takes every
/// dp-th micro-batch in <see cref="ShardBatch"/> and all-reduces in the others; context parallelism cuts each row
/// to its zigzag shard in <see cref="ShardBatch"/> (setting <see cref="TrainingBatch.Shard"/>) and pairs with an
/// attention backend that reads it; a sharded optimizer (ZeRO) reduce-scatters in <see cref="SyncGradients"/> and
/// sums squared norms in <see cref="GlobalGradNorm"/>. Every method is called on every process in the same order.
/// </summary>
public interface ITrainingTopology
{
    /// <summary>This process's index, 0 … <see cref="WorldSize"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Processes training together.</summary>
    int WorldSize { get; }

    /// <summary>The process that writes the run folder's shared files (metrics, plots, options, checkpoints): rank 0.</summary>
    bool IsWriter => Rank == 0;

    /// <summary>
    /// From the step's micro-batches as read from the global stream (the same on every process, so the data cursor
    /// and a resume stay exact), the ones this process computes, each cut to this process's tokens. A sequence
    /// shard keeps the global RoPE length and document starts of the whole row (<see cref="TrainingBatch.Shard"/>).
    /// </summary>
    IReadOnlyList<TrainingBatch> ShardBatch(IReadOnlyList<TrainingBatch> step);

    /// <summary>Predicted tokens of the whole step over every process, from this process's count.</summary>
    long GlobalTokenCount(long localPredictedTokens);

    /// <summary>After the last micro-step's backward: make the gradients of <paramref name="trainable"/> those of the global batch.</summary>
    void SyncGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable);

    /// <summary>The L2 norm of every process's gradients, from the norm of this process's (fp32 scalar on its device).</summary>
    Tensor GlobalGradNorm(Tensor localNorm);

    /// <summary>Combines every process's view of the step: loss sums add up, any non-finite value or stop request counts for all.</summary>
    StepDecision Agree(StepDecision local);

    /// <summary>
    /// The layers every process recomputes (activation checkpointing), from this process's plan: each rank measures
    /// its own memory, and all must run the same layout (collectives inside layers must match). The safe choice is the most.
    /// </summary>
    int AgreeRecomputedLayers(int proposed);
}
