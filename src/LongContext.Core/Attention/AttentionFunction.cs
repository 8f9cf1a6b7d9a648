using LongContext.Core.Autograd;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Autograd wrapper over <see cref="FusedAttention"/> (or <see cref="DocumentAttention"/> under a document mask):
/// saves q, k, v, output and LSE (not the L×S probabilities) and runs the fused backward.
/// </summary>
public sealed class AttentionFunction : autograd.SingleTensorFunction<AttentionFunction>
{
    public override string Name => "LongContextAttention";

    // Stands in for "no document mask" among the node's arguments (TorchSharp's argument list holds objects).
    static readonly object NoDocuments = new();

    /// <summary>Differentiable attention: q [B,Hq,L,D], k/v [B,Hkv,S,D].</summary>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, bool causal, double? scale = null, AttentionKernel kernel = AttentionKernel.Auto) =>
        CustomAutograd.Apply(() => apply(q, k, v, causal, scale ?? 0.0, kernel, NoDocuments));

    /// <summary>Differentiable block-diagonal causal attention over packed documents (S = L).</summary>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, DocumentSegments documents, double? scale = null, AttentionKernel kernel = AttentionKernel.Auto) =>
        CustomAutograd.Apply(() => apply(q, k, v, true, scale ?? 0.0, kernel, documents));

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (q, k, v) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
        bool causal = (bool)vars[3];
        double scale = (double)vars[4];
        var kernel = (AttentionKernel)vars[5];
        var documents = vars[6] as DocumentSegments;
        double? s = scale > 0 ? scale : null;
        var result = documents is null
            ? FusedAttention.Forward(q, k, v, causal, s, kernel)
            : DocumentAttention.Forward(q, k, v, documents, s, kernel);
        ctx.save_for_backward([q, k, v, result.Output, result.Lse]);
        ctx.save_data("causal", causal);
        ctx.save_data("scale", scale);
        ctx.save_data("kernel", kernel);
        ctx.save_data("documents", (object?)documents ?? NoDocuments);
        return result.Output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
        CustomAutograd.Backward(gradOutput, () => Gradients(ctx, gradOutput));

    static List<Tensor> Gradients(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        double scale = (double)ctx.get_data("scale");
        double? s = scale > 0 ? scale : null;
        var kernel = (AttentionKernel)ctx.get_data("kernel");
        var (dq, dk, dv) = ctx.get_data("documents") is DocumentSegments documents
            ? DocumentAttention.Backward(gradOutput, saved[0], saved[1], saved[2], saved[3], saved[4], documents, s, kernel)
            : FusedAttention.Backward(gradOutput, saved[0], saved[1], saved[2], saved[3], saved[4], (bool)ctx.get_data("causal"), s, kernel);
        // TorchSharp wants one entry per forward argument; non-tensor arguments get null.
        return [dq, dk, dv, null!, null!, null!, null!];
    }
}
