using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using static TorchSharp.torch;

namespace LongContext.Training.Trainer;

/// <summary>
/// The one seam between the loop and how a micro-batch's loss is computed (forward included), so chunked LM-head
/// losses and per-layer activation checkpointing plug in without touching the loop.
/// </summary>
public interface ILossComputer
{
    /// <summary>
    /// Runs the model on <paramref name="batch"/> and returns the SUM over predicted positions (label ≠ −100) of the
    /// token cross-entropy, as a float32 scalar attached to the autograd graph. The trainer divides by the number of
    /// predicted tokens of the whole optimizer step and calls backward, so the accumulated gradient is that of the
    /// mean over every predicted token of the step's micro-batches.
    /// </summary>
    Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch, IAttentionBackend backend);

    /// <summary>Called after each micro-batch's backward: raise what went wrong inside it (e.g. a failed recompute).</summary>
    void AfterBackward() { }
}

/// <summary>One micro-batch on the model's device: ids, labels and positions [B, L] (int64).</summary>
public sealed record DeviceBatch(Tensor InputIds, Tensor Labels, Tensor PositionIds, TrainingBatch Host)
{
    public long PredictedTokens { get; } = Host.PredictedTokens;
}

/// <summary>
/// The default loss: model.Forward over the whole micro-batch, full [B, L, vocab] fp32 logits, cross_entropy with
/// ignore_index −100 and reduction sum. Fine for short sequences; long ones want a chunked LM-head loss.
/// </summary>
public sealed class CrossEntropyLoss : ILossComputer
{
    public Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch, IAttentionBackend backend)
    {
        using var scope = NewDisposeScope();
        var hidden = model.Forward(batch.InputIds, backend, cache: null, positionIds: batch.PositionIds); // [B, L, H]
        var logits = model.Logits(hidden);                                                                 // [B, L, V] fp32
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), batch.Labels.view(-1),
            ignore_index: TrainingBatch.IgnoreIndex, reduction: nn.Reduction.Sum);
        return loss.MoveToOuterDisposeScope();
    }
}

/// <summary>Wraps a function as an <see cref="ILossComputer"/> (same contract: summed loss over predicted tokens).</summary>
public sealed class DelegateLossComputer(Func<LlamaForCausalLM, DeviceBatch, IAttentionBackend, Tensor> lossSum) : ILossComputer
{
    public Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch, IAttentionBackend backend) => lossSum(model, batch, backend);
}
