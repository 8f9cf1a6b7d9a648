using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>Combines attention results over disjoint key sets into the result over their union (fp32).</summary>
public static class LseMerge
{
    /// <summary>
    /// out = Σ out_i·exp(lse_i − lse), lse = logaddexp(lse_a, lse_b). Rows where one side saw no keys (lse = −inf)
    /// take the other side unchanged.
    /// </summary>
    public static AttentionResult Merge(AttentionResult a, AttentionResult b)
    {
        using var scope = NewDisposeScope();
        var lseA = a.Lse.to(ScalarType.Float32);
        var lseB = b.Lse.to(ScalarType.Float32);
        var lse = logaddexp(lseA, lseB);
        // exp(−inf − (−inf)) is NaN; such rows have no keys on either side and stay zero.
        var wA = exp(lseA - lse).nan_to_num(0.0).unsqueeze(-1);
        var wB = exp(lseB - lse).nan_to_num(0.0).unsqueeze(-1);
        var output = (a.Output.to(ScalarType.Float32) * wA + b.Output.to(ScalarType.Float32) * wB).to(a.Output.dtype);
        return new AttentionResult(output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }
}
