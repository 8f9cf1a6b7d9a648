using LongContext.Core.Model;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Training.Loss;

/// <summary>
/// The default loss: model.Forward over the whole micro-batch, full [B, L, vocab] fp32 logits, cross_entropy with
/// ignore_index −100 and reduction sum. Fine for short sequences; long ones want <see cref="LongSequenceLoss"/>.
/// </summary>
public sealed class CrossEntropyLoss : ILossComputer
{
    ITrainingTopology topology = SingleProcessTopology.Instance;

    public Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch)
    {
        using var scope = NewDisposeScope();
        var hidden = model.Forward(batch.InputIds, batch.Context, layerRunner: topology.LayerRunner(null));   // [B, L, H]
        var logits = model.Logits(hidden);                                             // [B, L, V] fp32
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), batch.Labels.view(-1),
            ignore_index: TrainingBatch.IgnoreIndex, reduction: nn.Reduction.Sum);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The layers run through the topology's runner (data parallelism learns there when their gradients are ready).</summary>
    public void UseTopology(ITrainingTopology topology) => this.topology = topology;
}
