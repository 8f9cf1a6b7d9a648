using LongContext.Core.Model;
using LongContext.Training.Loop;
using static TorchSharp.torch;

namespace LongContext.Training.Loss;

/// <summary>Wraps a function as an <see cref="ILossComputer"/> (same contract: summed loss over predicted tokens).</summary>
public sealed class DelegateLossComputer(Func<LlamaForCausalLM, DeviceBatch, Tensor> lossSum) : ILossComputer
{
    public Tensor LossSum(LlamaForCausalLM model, DeviceBatch batch) => lossSum(model, batch);
}
