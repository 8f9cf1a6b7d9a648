using LongContext.Core.Autograd;
using LongContext.Core.Model;
using static TorchSharp.torch;

namespace LongContext.Training.ActivationCheckpointing;

/// <summary>
/// Activation checkpointing per decoder layer (TorchSharp has no torch.utils.checkpoint): the forward runs the layer
/// without building a graph and keeps only its input; the backward re-runs the layer with gradients on and
/// back-propagates the incoming gradient through it. Pass it to <see cref="LlamaForCausalLM"/>'s Forward as the layer
/// runner. With <see cref="OffloadToHost"/> the kept inputs wait in host memory (pinned on CUDA) until the backward.
/// When gradients are off (evaluation) the layer runs directly. With <see cref="RecomputedLayers"/> = N only the first
/// N layers are recomputed and the others keep their activations (partial recompute, Megatron's
/// recompute_num_layers): each layer left out saves its recompute where memory allows. ("Checkpoint" elsewhere in
/// the project means a saved training run; here only the layer inputs are kept.)
/// </summary>
public sealed class RecomputingLayerRunner(bool offloadToHost = false, int? recomputedLayers = null) : IDecoderLayerRunner
{
    /// <summary>Keep each layer's input in host memory between the forward and the backward.</summary>
    public bool OffloadToHost { get; } = offloadToHost;

    /// <summary>Layers 0 … N−1 are recomputed in backward, later ones keep their activations; null recomputes all. May change between steps.</summary>
    public int? RecomputedLayers
    {
        get => recomputedLayers;
        set => recomputedLayers = value is < 0 ? throw new ArgumentOutOfRangeException(nameof(value), "recomputed layers must be ≥ 0") : value;
    }

    /// <summary>
    /// An exception thrown while a layer was recomputed in backward. It cannot propagate from inside the autograd
    /// engine's callback (the process would abort), so the backward stops producing gradients and the failure waits
    /// here; <see cref="ThrowIfBackwardFailed"/> raises it once backward has returned.
    /// </summary>
    public Exception? BackwardFailure { get; internal set; }

    /// <summary>Raises (and clears) a failure recorded during the last backward, e.g. CUDA out of memory.</summary>
    public void ThrowIfBackwardFailed()
    {
        if (BackwardFailure is not { } failure) return;
        BackwardFailure = null;
        throw new LongContextException(
            $"recomputing a checkpointed decoder layer in backward failed: {failure.Message}" +
            (failure.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
                ? " — use a shorter sequence, --offload (layer inputs in host memory), or more GPUs." : ""));
    }

    public Tensor Run(LlamaDecoderLayer layer, Tensor x, Tensor cos, Tensor sin, ForwardContext context)
    {
        if (RecomputedLayers is int n && layer.LayerIndex >= n)
            return layer.Forward(x, cos, sin, context, null);
        // The layer's trainable parameters are inputs of the checkpoint node, so it gets a gradient edge even when
        // x itself needs none (frozen embeddings with LoRA), and the engine accumulates their gradients as usual.
        var trainable = layer.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToArray();
        if (!is_grad_enabled() || (!x.requires_grad && trainable.Length == 0))
            return layer.Forward(x, cos, sin, context, null);
        var call = new RecomputeCall(layer, context, x.device, x.requires_grad, trainable, OffloadToHost, this);
        var args = new object[4 + trainable.Length];
        (args[0], args[1], args[2], args[3]) = (call, x, cos, sin);
        trainable.CopyTo(args, 4);
        return CustomAutograd.Apply(() => RecomputeFunction.apply(args));
    }
}
