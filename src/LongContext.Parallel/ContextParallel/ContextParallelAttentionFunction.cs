using LongContext.Core.Autograd;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Autograd over an <see cref="IContextParallelAttention"/>: saves this rank's q, k, v, output and fp32 LSE (no
/// gathered K/V, no probabilities) and runs the context-parallel backward, which is collective: every rank's
/// backward reaches this node in the same order, because every rank runs the same layers.
/// </summary>
public sealed class ContextParallelAttentionFunction : autograd.SingleTensorFunction<ContextParallelAttentionFunction>
{
    public override string Name => "ContextParallelAttention";

    /// <summary>Differentiable context-parallel attention of this rank's shard: q [B,Hq,2c,D], k/v [B,Hkv,2c,D].</summary>
    public static Tensor Apply(IContextParallelAttention attention, Tensor q, Tensor k, Tensor v, ContextParallelCall call) =>
        CustomAutograd.Apply(() => apply(q, k, v, attention, call));

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (q, k, v) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
        var attention = (IContextParallelAttention)vars[3];
        var call = (ContextParallelCall)vars[4];
        var result = attention.Forward(q, k, v, call);
        ctx.save_for_backward([q, k, v, result.Output, result.Lse]);
        ctx.save_data("attention", attention);
        ctx.save_data("call", call);
        return result.Output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
        CustomAutograd.Backward(gradOutput, () => Gradients(ctx, gradOutput));

    static List<Tensor> Gradients(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var attention = (IContextParallelAttention)ctx.get_data("attention");
        var (dq, dk, dv) = attention.Backward(gradOutput, saved[0], saved[1], saved[2], saved[3], saved[4], (ContextParallelCall)ctx.get_data("call"));
        // One entry per forward argument; the non-tensor ones get null.
        return [dq, dk, dv, null!, null!];
    }
}
