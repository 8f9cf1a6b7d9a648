using LongContext.Core.Autograd;
using LongContext.Core.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.ActivationCheckpointing;

/// <summary>What the backward needs to re-run one layer (non-tensor state of the autograd node): the same forward context.</summary>
internal sealed record RecomputeCall(LlamaDecoderLayer Layer, ForwardContext Context, Device Device,
    bool InputRequiresGrad, Tensor[] Trainable, bool Offload, RecomputingLayerRunner Runner);

/// <summary>The autograd node of one recomputed layer: forward without a graph keeping only its input, backward re-runs it.</summary>
internal sealed class RecomputeFunction : autograd.SingleTensorFunction<RecomputeFunction>
{
    public override string Name => "DecoderLayerRecompute";

    // vars: call, x, cos, sin, trainable parameters…
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var call = (RecomputeCall)vars[0];
        var (x, cos, sin) = ((Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        var output = call.Layer.Forward(x, cos, sin, call.Context, null);   // runs under no_grad: no graph kept
        var keep = call.Offload ? ToHost(x) : x;
        // Saved tensors become autograd SavedVariables (native references) once apply returns.
        ctx.save_for_backward([keep, cos, sin]);
        ctx.save_data("call", call);
        return output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
        CustomAutograd.Backward(gradOutput, () => Gradients(ctx, gradOutput));

    static List<Tensor> Gradients(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var call = (RecomputeCall)ctx.get_data("call");
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
    static List<Tensor> Placeholders(RecomputeCall call, Tensor gradOutput)
    {
        var result = new List<Tensor> { null!, call.InputRequiresGrad ? gradOutput.alias() : null!, null!, null! };
        foreach (var p in call.Trainable) result.Add(zeros(1, p.dtype, p.device).expand(p.shape));
        return result;
    }

    static List<Tensor> Recompute(autograd.AutogradContext ctx, RecomputeCall call, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var x = saved[0].to(call.Device).detach().requires_grad_(call.InputRequiresGrad);
        Tensor output;
        // The engine runs backward functions with grad mode off; the recomputation needs a graph.
        using (enable_grad())
            output = call.Layer.Forward(x, saved[1], saved[2], call.Context, null);
        var wrt = call.InputRequiresGrad ? call.Trainable.Prepend(x).ToArray() : call.Trainable;
        var grads = autograd.grad([output], wrt, [gradOutput]);
        int offset = call.InputRequiresGrad ? 1 : 0;
        var result = new List<Tensor> { null!, call.InputRequiresGrad ? grads[0].MoveToOuterDisposeScope() : null!, null!, null! };
        for (int i = 0; i < call.Trainable.Length; i++) result.Add(grads[offset + i].MoveToOuterDisposeScope());
        // The recomputed graph ran its own custom backwards (attention) on this thread: their gradients were consumed.
        CustomAutograd.ReleaseReturned();
        return result;
    }

    static Tensor ToHost(Tensor x)
    {
        if (x.device_type == DeviceType.CPU) return x;   // already in host memory
        using var host = x.to(CPU);
        return host.pin_memory();
    }
}
