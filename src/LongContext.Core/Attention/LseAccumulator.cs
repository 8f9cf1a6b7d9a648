using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// A running merge of attention results over disjoint key blocks, kept in fp32 from the first block to the last:
/// after each <see cref="Add"/>, <see cref="Output"/>/<see cref="Lse"/> are the attention over the union of the keys
/// seen so far. Ring attention merges one block per hop; rounding the running output to bf16 at every merge (what
/// chaining <see cref="LseMerge.Merge"/> does) adds one rounding error per hop, so a ring of N blocks keeps the sum
/// here and rounds once, in <see cref="Result"/>. Not differentiable: callers run it inside their own autograd node.
/// </summary>
public sealed class LseAccumulator : IDisposable
{
    readonly Tensor output;   // [B, H, L, D] fp32
    readonly Tensor lse;      // [B, H, L] fp32

    /// <summary>Starts from the first block's result (copied; the block is not modified).</summary>
    public LseAccumulator(AttentionResult first)
    {
        output = Float32Copy(first.Output).DetachFromDisposeScope();
        lse = Float32Copy(first.Lse).DetachFromDisposeScope();
    }

    /// <summary>Running output in fp32 (updated in place by <see cref="Add"/>).</summary>
    public Tensor Output => output;
    /// <summary>Running log-sum-exp in fp32.</summary>
    public Tensor Lse => lse;

    /// <summary>
    /// Merges a block over further keys: lse ← logaddexp(lse, lse_b), out ← out·exp(lse_old − lse) + out_b·exp(lse_b − lse).
    /// Rows where one side saw no keys (lse = −inf) take the other side unchanged; rows with none on either stay zero.
    /// </summary>
    public void Add(AttentionResult block)
    {
        using var scope = NewDisposeScope();
        var blockLse = block.Lse.to(ScalarType.Float32);
        var merged = logaddexp(lse, blockLse);
        // exp(−inf − (−inf)) is NaN; such rows have no keys on either side and stay zero.
        var keep = exp(lse - merged).nan_to_num(0.0).unsqueeze(-1);
        var take = exp(blockLse - merged).nan_to_num(0.0).unsqueeze(-1);
        output.mul_(keep).add_(block.Output.to(ScalarType.Float32) * take);
        lse.copy_(merged);
    }

    /// <summary>The merged result, rounded once to <paramref name="dtype"/> (new tensors; the accumulator stays usable).</summary>
    public AttentionResult Result(ScalarType dtype) =>
        new(dtype == ScalarType.Float32 ? output.clone() : output.to(dtype), lse.clone());

    public void Dispose()
    {
        output.Dispose();
        lse.Dispose();
    }

    static Tensor Float32Copy(Tensor t) => t.dtype == ScalarType.Float32 ? t.clone() : t.to(ScalarType.Float32);
}
