using static TorchSharp.torch;

namespace LongContext.Core.Model;

/// <summary>
/// How <see cref="LlamaForCausalLM.Forward(Tensor, ForwardContext, Inference.KvCache?, IDecoderLayerRunner?)"/> runs each
/// decoder layer when a caller wants control over it (training: activation checkpointing, offload). Without a runner
/// the model calls <see cref="LlamaDecoderLayer.Forward"/> directly. Runners see no KV cache: they exist for
/// full-sequence (training) forwards.
/// </summary>
public interface IDecoderLayerRunner
{
    /// <summary>Must return what <c>layer.Forward(x, cos, sin, context, null)</c> returns, with the same gradients.</summary>
    Tensor Run(LlamaDecoderLayer layer, Tensor x, Tensor cos, Tensor sin, ForwardContext context);
}
