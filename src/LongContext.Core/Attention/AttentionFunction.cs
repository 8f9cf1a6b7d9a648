using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Autograd wrapper over <see cref="FusedAttention"/>: saves q, k, v, output and LSE (not the L×S probabilities)
/// and runs the fused backward.
/// </summary>
public sealed class AttentionFunction : autograd.SingleTensorFunction<AttentionFunction>
{
    public override string Name => "LongContextAttention";

    /// <summary>Differentiable attention: q [B,Hq,L,D], k/v [B,Hkv,S,D].</summary>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, bool causal, double? scale = null, AttentionKernel kernel = AttentionKernel.Auto) =>
        apply(q, k, v, causal, scale ?? 0.0, kernel);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (q, k, v) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
        bool causal = (bool)vars[3];
        double scale = (double)vars[4];
        var kernel = (AttentionKernel)vars[5];
        var result = FusedAttention.Forward(q, k, v, causal, scale > 0 ? scale : null, kernel);
        ctx.save_for_backward([q, k, v, result.Output, result.Lse]);
        ctx.save_data("causal", causal);
        ctx.save_data("scale", scale);
        ctx.save_data("kernel", kernel);
        return result.Output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        double scale = (double)ctx.get_data("scale");
        var (dq, dk, dv) = FusedAttention.Backward(gradOutput, saved[0], saved[1], saved[2], saved[3], saved[4],
            (bool)ctx.get_data("causal"), scale > 0 ? scale : null, (AttentionKernel)ctx.get_data("kernel"));
        // TorchSharp wants one entry per forward argument; non-tensor arguments get null.
        return [dq, dk, dv, null!, null!, null!];
    }
}
