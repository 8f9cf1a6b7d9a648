using LongContext.Parallel.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Parallel.Diagnostics;

/// <summary>
/// Per-rank inputs that every process can recompute, and the results each collective must give, computed directly
/// in float64 (the distributed self-test and the tests compare groups with these).
/// </summary>
public static class CollectiveReference
{
    /// <summary>Rank <paramref name="rank"/>'s deterministic input (same values in every process and thread).</summary>
    public static Tensor Input(int rank, long[] shape, ScalarType dtype = ScalarType.Float32, int salt = 0)
    {
        using var g = new Generator((ulong)(1000 * salt + rank + 1), CPU);
        var x = randn(shape, dtype: ScalarType.Float64, generator: g) * 3;
        return dtype is ScalarType.Int64 or ScalarType.Int32 ? x.round().to(dtype) : x.to(dtype);
    }

    public static Tensor Reduce(int worldSize, long[] shape, ScalarType dtype, ReduceOp op, int salt = 0)
    {
        var all = stack(Enumerable.Range(0, worldSize).Select(r => Input(r, shape, dtype, salt).to(ScalarType.Float64)).ToArray());
        return op switch
        {
            ReduceOp.Sum => all.sum(dim: 0),
            ReduceOp.Avg => all.mean([0]),
            ReduceOp.Max => all.amax([0]),
            ReduceOp.Min => all.amin([0]),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    public static Tensor Gather(int worldSize, long[] shape, ScalarType dtype, int salt = 0) =>
        cat(Enumerable.Range(0, worldSize).Select(r => Input(r, shape, dtype, salt)).ToArray(), 0);

    /// <summary>Same shape, dtype and values.</summary>
    public static bool Same(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.cpu().eq(b.cpu()).all().item<bool>();

    /// <summary>Largest |a − b| / (|b| + 1) (a relative error that tolerates values near zero).</summary>
    public static double Error(Tensor actual, Tensor expected)
    {
        var a = actual.cpu().to(ScalarType.Float64);
        var b = expected.cpu().to(ScalarType.Float64).reshape(a.shape);
        return a.numel() == 0 ? 0 : ((a - b).abs() / (b.abs() + 1)).max().item<double>();
    }
}
