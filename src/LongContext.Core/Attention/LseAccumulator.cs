using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// A running merge of attention results over disjoint key blocks, kept in fp32 from the first block to the last:
/// after each <see cref="Add(AttentionResult)"/>, <see cref="Output"/>/<see cref="Lse"/> are the attention over the
/// union of the keys seen so far. Ring attention merges one block per hop; rounding the running output to bf16 at
/// every merge (what chaining <see cref="LseMerge.Merge"/> would do) adds one rounding error per hop, which is how
/// other rings drift from the single-GPU loss as they grow, so the sum stays here and is rounded once, in
/// <see cref="Result"/>. A block may cover only some rows (batch rows and query rows: a ring step in which only
/// some queries see the travelling keys). Not differentiable: callers run it inside their own autograd node.
/// </summary>
/// <remarks>
/// The merge is ring-flash-attention's stable form (long-context-recipes.md §4.1):
/// out ← out − σ(lse_b − lse)·(out − out_b), lse ← lse − logσ(lse − lse_b). Rows that have seen no key yet
/// (lse = −inf) take the block as it is; a block row that saw no key (lse_b = −inf) leaves the row unchanged; a row that
/// has seen no key on either side stays zero.
/// </remarks>
public sealed class LseAccumulator : IDisposable
{
    readonly Tensor output;   // [B, H, L, D] fp32
    readonly Tensor lse;      // [B, H, L] fp32
    readonly bool ownsTensors;

    LseAccumulator(Tensor output, Tensor lse, bool ownsTensors) => (this.output, this.lse, this.ownsTensors) = (output, lse, ownsTensors);

    /// <summary>Starts from the first block's result (copied; the block is not modified).</summary>
    public LseAccumulator(AttentionResult first)
        : this(Float32Copy(first.Output).DetachFromDisposeScope(), Float32Copy(first.Lse).DetachFromDisposeScope(), true) { }

    /// <summary>
    /// No keys seen yet: output 0, LSE −inf, for [B, H, L, D]; the output lies in [B, L, H, D] memory like the fused
    /// kernels' own, so the model's merge of heads stays a view.
    /// </summary>
    public static LseAccumulator Empty(long batch, long heads, long length, long headDim, Device device) =>
        new(zeros([batch, length, heads, headDim], dtype: ScalarType.Float32, device: device).transpose(1, 2).DetachFromDisposeScope(),
            full([batch, heads, length], double.NegativeInfinity, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope(), true);

    /// <summary>
    /// The accumulator of heads [start, start + count): views, so merging into it updates this one (GQA callers merge
    /// one group of KV heads' queries at a time). Valid within the caller's dispose scope.
    /// </summary>
    public LseAccumulator Heads(long start, long count) => new(output.narrow(1, start, count), lse.narrow(1, start, count), false);

    /// <summary>Running output in fp32 (updated in place by Add).</summary>
    public Tensor Output => output;
    /// <summary>Running log-sum-exp in fp32.</summary>
    public Tensor Lse => lse;

    /// <summary>Merges a block over further keys for every row.</summary>
    public void Add(AttentionResult block) => Add(block, 0, 0);

    /// <summary>
    /// Merges a block whose rows are batch rows <paramref name="batchStart"/>… and query rows
    /// <paramref name="queryStart"/>… of this accumulator (as many as the block has).
    /// </summary>
    public void Add(AttentionResult block, long batchStart, long queryStart)
    {
        using var scope = NewDisposeScope();
        var o = output.narrow(0, batchStart, block.Output.shape[0]).narrow(2, queryStart, block.Output.shape[2]);
        var l = lse.narrow(0, batchStart, block.Output.shape[0]).narrow(2, queryStart, block.Output.shape[2]);
        var bo = block.Output.to(ScalarType.Float32);
        var bl = block.Lse.to(ScalarType.Float32);
        var first = l.eq(double.NegativeInfinity).unsqueeze(-1);
        var blockEmpty = bl.eq(double.NegativeInfinity);
        var merged = o - sigmoid(bl - l).unsqueeze(-1) * (o - bo);
        var mergedLse = where(l.eq(double.NegativeInfinity), bl, l - nn.functional.logsigmoid(l - bl));
        // A block row without keys changes nothing (whatever its output holds); a row without keys on either side is zero.
        var next = where(blockEmpty.unsqueeze(-1), o, where(first, bo, merged));
        o.copy_(next.masked_fill(mergedLse.eq(double.NegativeInfinity).unsqueeze(-1), 0.0));
        l.copy_(mergedLse);
    }

    /// <summary>The merged result, rounded once to <paramref name="dtype"/> (new tensors; the accumulator stays usable).</summary>
    public AttentionResult Result(ScalarType dtype) =>
        new(dtype == ScalarType.Float32 ? output.clone() : output.to(dtype), lse.clone());

    public void Dispose()
    {
        if (!ownsTensors) return;
        output.Dispose();
        lse.Dispose();
    }

    static Tensor Float32Copy(Tensor t) => t.dtype == ScalarType.Float32 ? t.clone() : t.to(ScalarType.Float32);
}
