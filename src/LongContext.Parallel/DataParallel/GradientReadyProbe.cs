using LongContext.Core.Autograd;
using LongContext.Core.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Parallel.DataParallel;

/// <summary>Told by the probes when the backward has finished a decoder layer (so that layer's gradients are complete).</summary>
internal interface ILayerGradientsListener
{
    void LayerDone(int layer);
}

/// <summary>
/// An identity on a decoder layer's input whose backward runs once the gradient of that input is complete, that is
/// after the whole layer's backward: the engine runs a parameter's gradient accumulation (AccumulateGrad, top
/// priority) as soon as its gradient is produced, and the layer's gradients are produced on the way to its input.
/// TorchSharp has no tensor or module backward hooks; this is the hook. The listener must not throw (the engine
/// callback cannot carry exceptions): it records failures and raises them after the backward.
/// </summary>
internal sealed class GradientReadyProbe : autograd.SingleTensorFunction<GradientReadyProbe>
{
    public override string Name => "GradientReadyProbe";

    sealed record Call(int Layer, ILayerGradientsListener Listener);

    // vars: x, Call
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ctx.save_data("call", vars[1]);
        return ((Tensor)vars[0]).alias();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) => CustomAutograd.Backward(gradOutput, () =>
    {
        var call = (Call)ctx.get_data("call");
        call.Listener.LayerDone(call.Layer);
        return [gradOutput, null!];
    });

    /// <summary>x itself in forward; in backward, tells <paramref name="listener"/> that layer <paramref name="layer"/> is done.</summary>
    public static Tensor Around(Tensor x, int layer, ILayerGradientsListener listener) =>
        CustomAutograd.Apply(() => apply(x, new Call(layer, listener)));
}

/// <summary>Runs each decoder layer through <paramref name="inner"/> (or plainly) with a <see cref="GradientReadyProbe"/> on its input.</summary>
internal sealed class ProbingLayerRunner(IDecoderLayerRunner? inner, ILayerGradientsListener listener) : IDecoderLayerRunner
{
    public Tensor Run(LlamaDecoderLayer layer, Tensor x, Tensor cos, Tensor sin, ForwardContext context)
    {
        var input = is_grad_enabled() && x.requires_grad ? GradientReadyProbe.Around(x, layer.LayerIndex, listener) : x;
        return inner?.Run(layer, input, cos, sin, context) ?? layer.Forward(input, cos, sin, context, null);
    }
}
