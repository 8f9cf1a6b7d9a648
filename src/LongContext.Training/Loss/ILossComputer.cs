using LongContext.Core.Model;
using LongContext.Training.Loop;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Training.Loss;

/// <summary>
/// The one seam between the loop and how a micro-batch's loss is computed (forward included), so chunked LM-head
/// losses and per-layer activation checkpointing plug in without touching the loop.
/// </summary>
public interface ILossComputer
{
    /// <summary>
    /// Runs the model on <paramref name="batch"/> (with <see cref="DeviceBatch.Context"/>: backend, positions, RoPE
    /// length, document mask, shard) and returns the SUM over predicted positions (label ≠ −100) of the token
    /// cross-entropy, as a float32 scalar attached to the autograd graph. The trainer divides by the number of
    /// predicted tokens of the whole optimizer step and calls backward, so the accumulated gradient is that of the
    /// mean over every predicted token of the step's micro-batches.
    /// </summary>
    Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch);

    /// <summary>Called after each micro-batch's backward: raise what went wrong inside it (e.g. a failed recompute).</summary>
    void AfterBackward() { }

    /// <summary>Called once by the trainer: a loss that decides things per process (an activation-checkpoint plan) agrees through it.</summary>
    void UseTopology(ITrainingTopology topology) { }
}
