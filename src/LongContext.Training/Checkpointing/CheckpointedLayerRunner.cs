using LongContext.Core.Attention;
using LongContext.Core.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Checkpointing;

/// <summary>
/// Activation checkpointing per decoder layer (TorchSharp has no torch.utils.checkpoint): the forward runs the layer
/// without building a graph and keeps only its input; the backward re-runs the layer with gradients on and
/// back-propagates the incoming gradient through it. Pass it to <see cref="LlamaForCausalLM.Forward"/> as the layer
/// runner. With <see cref="OffloadToHost"/> the kept inputs wait in host memory (pinned on CUDA) until the backward.
/// When gradients are off (evaluation) the layer runs directly. With <see cref="CheckpointedLayers"/> = N only the first
/// N layers are checkpointed and the others keep their activations (partial recompute, Megatron's
/// recompute_num_layers): each layer left out saves its recompute where memory allows.
/// </summary>
public sealed class CheckpointedLayerRunner(bool offloadToHost = false, int? checkpointedLayers = null) : IDecoderLayerRunner
{
    /// <summary>Keep each layer's input in host memory between the forward and the backward.</summary>
    public bool OffloadToHost { get; } = offloadToHost;

    /// <summary>Layers 0 … N−1 are checkpointed, later ones run plainly; null checkpoints all. May change between steps.</summary>
    public int? CheckpointedLayers
    {
        get => checkpointedLayers;
        set => checkpointedLayers = value is < 0 ? throw new ArgumentOutOfRangeException(nameof(value), "checkpointed layers must be ≥ 0") : value;
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

    public Tensor Run(LlamaDecoderLayer layer, Tensor x, Tensor cos, Tensor sin, IAttentionBackend backend)
    {
        if (CheckpointedLayers is int n && layer.LayerIndex >= n)
            return layer.Forward(x, cos, sin, backend, null);
        // The layer's trainable parameters are inputs of the checkpoint node, so it gets a gradient edge even when
        // x itself needs none (frozen embeddings with LoRA), and the engine accumulates their gradients as usual.
        var trainable = layer.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToArray();
        if (!is_grad_enabled() || (!x.requires_grad && trainable.Length == 0))
            return layer.Forward(x, cos, sin, backend, null);
        var call = new CheckpointCall(layer, backend, x.device, x.requires_grad, trainable, OffloadToHost, this);
        var args = new object[4 + trainable.Length];
        (args[0], args[1], args[2], args[3]) = (call, x, cos, sin);
        trainable.CopyTo(args, 4);
        return CheckpointFunction.apply(args);
    }
}

/// <summary>What the backward needs to re-run one layer (non-tensor state of the autograd node).</summary>
internal sealed record CheckpointCall(LlamaDecoderLayer Layer, IAttentionBackend Backend, Device Device,
    bool InputRequiresGrad, Tensor[] Trainable, bool Offload, CheckpointedLayerRunner Runner);

internal sealed class CheckpointFunction : autograd.SingleTensorFunction<CheckpointFunction>
{
    public override string Name => "DecoderLayerCheckpoint";

    // vars: call, x, cos, sin, trainable parameters…
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var call = (CheckpointCall)vars[0];
        var (x, cos, sin) = ((Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        var output = call.Layer.Forward(x, cos, sin, call.Backend, null);   // runs under no_grad: no graph kept
        var keep = call.Offload ? ToHost(x) : x;
        // Saved tensors become autograd SavedVariables (native references) once apply returns.
        ctx.save_for_backward([keep, cos, sin]);
        ctx.save_data("call", call);
        return output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var call = (CheckpointCall)ctx.get_data("call");
        // After one failure every later layer returns placeholder gradients at once: the step is lost either way.
        if (call.Runner.BackwardFailure is not null) return Placeholders(call, gradOutput);
        try { return Recompute(ctx, call, gradOutput); }
        catch (Exception e)
        {
            call.Runner.BackwardFailure = e;
            return Placeholders(call, gradOutput);
        }
    }

    /// <summary>
    /// Gradients of the right shapes that cost no memory (the engine needs defined tensors): the incoming gradient for
    /// the layer input (same shape) and broadcast zeros for the parameters. Only used when the step is discarded.
    /// </summary>
    static List<Tensor> Placeholders(CheckpointCall call, Tensor gradOutput)
    {
        var result = new List<Tensor> { null!, call.InputRequiresGrad ? gradOutput.alias() : null!, null!, null! };
        foreach (var p in call.Trainable) result.Add(zeros(1, p.dtype, p.device).expand(p.shape));
        return result;
    }

    static List<Tensor> Recompute(autograd.AutogradContext ctx, CheckpointCall call, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var x = saved[0].to(call.Device).detach().requires_grad_(call.InputRequiresGrad);
        Tensor output;
        // The engine runs backward functions with grad mode off; the recomputation needs a graph.
        using (enable_grad())
            output = call.Layer.Forward(x, saved[1], saved[2], call.Backend, null);
        var wrt = call.InputRequiresGrad ? call.Trainable.Prepend(x).ToArray() : call.Trainable;
        var grads = autograd.grad([output], wrt, [gradOutput]);
        int offset = call.InputRequiresGrad ? 1 : 0;
        var result = new List<Tensor> { null!, call.InputRequiresGrad ? grads[0].MoveToOuterDisposeScope() : null!, null!, null! };
        for (int i = 0; i < call.Trainable.Length; i++) result.Add(grads[offset + i].MoveToOuterDisposeScope());
        return result;
    }

    static Tensor ToHost(Tensor x)
    {
        if (x.device_type == DeviceType.CPU) return x;   // already in host memory
        using var host = x.to(CPU);
        return host.pin_memory();
    }
}
