using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// The running output and log-sum-exp of a rank's queries while key blocks arrive, both in fp32 whatever the input
/// dtype (rounding them to bf16 at every hop is what makes other rings drift from the single-GPU loss as they grow).
/// A block is merged with ring-flash-attention's stable form (long-context-recipes.md §4.1):
/// out ← out − σ(blse − lse)·(out − bout), lse ← lse − logσ(lse − blse); rows that have seen no key yet take the
/// block as it is.
/// </summary>
public sealed class RunningAttention
{
    /// <summary>fp32 [B, Hq, L, D], in [B, L, Hq, D] memory like the fused kernels' output (the model's merge of heads stays a view).</summary>
    public Tensor Output { get; }
    /// <summary>fp32 [B, Hq, L], −inf where no key was seen.</summary>
    public Tensor Lse { get; }

    RunningAttention(Tensor output, Tensor lse) => (Output, Lse) = (output, lse);

    public static RunningAttention Empty(long batch, long heads, long length, long headDim, Device device) =>
        new(zeros([batch, length, heads, headDim], dtype: ScalarType.Float32, device: device).transpose(1, 2),
            full([batch, heads, length], double.NegativeInfinity, dtype: ScalarType.Float32, device: device));

    /// <summary>The accumulator of heads [start, start+count) (views: merging into it updates this one).</summary>
    public RunningAttention Heads(long start, long count) => new(Output.narrow(1, start, count), Lse.narrow(1, start, count));

    /// <summary>Merges one block's result (its rows are the block's queries) into the running rows it covers.</summary>
    public void Add(AttentionBlock block, AttentionResult result)
    {
        using var scope = NewDisposeScope();
        var o = Output.narrow(0, block.BatchStart, block.BatchCount).narrow(2, block.QueryStart, block.QueryLength);
        var l = Lse.narrow(0, block.BatchStart, block.BatchCount).narrow(2, block.QueryStart, block.QueryLength);
        var bo = result.Output.to(ScalarType.Float32);
        var bl = result.Lse.to(ScalarType.Float32);
        var first = l.eq(double.NegativeInfinity);
        var w = sigmoid(bl - l).unsqueeze(-1);
        var merged = o - w * (o - bo);
        var lse = l - nn.functional.logsigmoid(l - bl);
        o.copy_(where(first.unsqueeze(-1), bo, merged));
        l.copy_(where(first, bl, lse));
    }

    /// <summary>The result in the caller's dtype, same memory layout (the LSE stays fp32).</summary>
    public AttentionResult Finish(ScalarType dtype) => new(Output.to(dtype), Lse);
}
