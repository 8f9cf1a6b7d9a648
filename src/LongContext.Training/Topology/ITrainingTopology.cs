using LongContext.Core.Model;
using LongContext.Training.Data;
using LongContext.Training.Optim;
using static TorchSharp.torch;

namespace LongContext.Training.Topology;

/// <summary>
/// The seams where distributed training plugs into one optimizer step, in the order the trainer calls them
/// (docs/architecture.md, "Training step"):
/// <code>
/// (once per trainer) CreateOptimizer   the optimizer over the trainable parameters (replicated AdamW, or a sharded one)
/// fetch the step's micro-batches from the one global stream
///   → ShardBatch          which micro-batches this process computes, each cut to its sequence shard
///   → GlobalTokenCount    the denominator of the mean loss, over every process
///   → micro-steps         forward (layers through LayerRunner) + Backward of each micro-batch (loss sum / global tokens)
///   → SyncGradients       gradients made whole (data parallel: all-reduce or reduce-scatter)
///   → clip                HeldGradients, scaled by the global norm (GlobalGradNorm turns this process's norm into it)
///   → Agree               collective decisions: the NaN guard and the stop request (and, through
///                         AgreeRecomputedLayers, the activation-checkpoint plan)
///   → optimizer step → zero grad → log (rank 0 writes)
/// </code>
/// With one process (<see cref="SingleProcessTopology"/>) every method is the identity. Data parallelism takes every
/// dp-th micro-batch in <see cref="ShardBatch"/> and all-reduces in the others; context parallelism cuts each row
/// to its zigzag shard in <see cref="ShardBatch"/> (setting <see cref="TrainingBatch.Shard"/>) and pairs with an
/// attention backend that reads it; a sharded optimizer (ZeRO) reduce-scatters in <see cref="SyncGradients"/> and
/// sums squared norms in <see cref="GlobalGradNorm"/>. Every method is called on every process in the same order.
/// Checkpoints are saved cooperatively through <see cref="AllGatherBytes"/> (each rank writes its optimizer part).
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
    /// Called once by each trainer with its trainable parameters (by HF name, in a stable order) before any step:
    /// returns the optimizer over them, <paramref name="injected"/>'s when given, else AdamW with
    /// <paramref name="options"/>. A topology that shards optimizer state (ZeRO) returns its own sharded AdamW, and one
    /// that replicates the model makes every process start from rank 0's weights here.
    /// </summary>
    IOptimizer CreateOptimizer(IReadOnlyList<KeyValuePair<string, Tensor>> trainable, OptimizerFactory? injected, AdamWOptions options) =>
        (injected ?? AdamW.Factory(options))(trainable);

    /// <summary>
    /// From the step's micro-batches as read from the global stream (the same on every process, so the data cursor
    /// and a resume stay exact), the ones this process computes, each cut to this process's tokens. A sequence
    /// shard keeps the global RoPE length and document starts of the whole row (<see cref="TrainingBatch.Shard"/>).
    /// </summary>
    IReadOnlyList<TrainingBatch> ShardBatch(IReadOnlyList<TrainingBatch> step);

    /// <summary>Predicted tokens of the whole step over every process, from this process's count.</summary>
    long GlobalTokenCount(long localPredictedTokens);

    /// <summary>
    /// How the loss runs the decoder layers: <paramref name="inner"/> (null: plainly) or a runner around it that
    /// learns when each layer's gradients are complete in backward (data parallelism starts reducing them then).
    /// </summary>
    IDecoderLayerRunner? LayerRunner(IDecoderLayerRunner? inner) => inner;

    /// <summary>
    /// Back-propagates micro-batch <paramref name="microStep"/> of this process's <paramref name="microSteps"/>
    /// (its loss sum already divided by the global token count). Data parallelism reduces gradient buckets while
    /// the backward of the last micro-step still runs.
    /// </summary>
    void Backward(Tensor scaledLoss, int microStep, int microSteps) => scaledLoss.backward();

    /// <summary>After the last micro-step's backward: make the gradients of <paramref name="trainable"/> those of the global batch.</summary>
    void SyncGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable);

    /// <summary>
    /// The gradient tensors this process holds after <see cref="SyncGradients"/>, which clipping measures and scales:
    /// every trainable parameter's .grad (one process, or gradients replicated by an all-reduce), or this rank's
    /// shard of them (ZeRO-2).
    /// </summary>
    IReadOnlyList<Tensor> HeldGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable) =>
        [.. trainable.Select(p => p.Value.grad).OfType<Tensor>()];

    /// <summary>The L2 norm of every process's gradients, from the norm of this process's <see cref="HeldGradients"/> (fp32 scalar on its device).</summary>
    Tensor GlobalGradNorm(Tensor localNorm);

    /// <summary>Combines every process's view of the step: loss sums add up, any non-finite value or stop request counts for all.</summary>
    StepDecision Agree(StepDecision local);

    /// <summary>
    /// The layers every process recomputes (activation checkpointing), from this process's plan: each rank measures
    /// its own memory, and all must run the same layout (collectives inside layers must match). The safe choice is the most.
    /// </summary>
    int AgreeRecomputedLayers(int proposed);

    /// <summary>
    /// Every process's <paramref name="local"/> bytes, by rank (small records: a checkpoint part's files and hashes,
    /// a failure message). Collective: every process calls it at the same point.
    /// </summary>
    IReadOnlyList<byte[]> AllGatherBytes(byte[] local) => [local];

    /// <summary>
    /// Runs <paramref name="action"/> on the writer (rank 0) while the others wait for it, however long it takes
    /// (an export, an evaluation); a failure there is raised on every process, naming <paramref name="what"/>.
    /// </summary>
    void OnWriter(string what, Action action) => action();
}
