using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

/// <summary>Argument checks every group applies before posting (programming errors, thrown on the caller's thread).</summary>
internal static class ProcessGroupChecks
{
    public static void Contiguous(Tensor t, string what)
    {
        if (!t.is_contiguous()) throw new ArgumentException($"{what}: the tensor must be contiguous (call .contiguous() first).");
    }

    public static void Peer(IProcessGroup g, int peer, string what)
    {
        if (peer < 0 || peer >= g.Size) throw new ArgumentOutOfRangeException(nameof(peer), $"{what} {peer} is not a rank of group '{g.Name}' (size {g.Size}).");
    }

    /// <summary><paramref name="whole"/> must hold Size × <paramref name="part"/>'s elements, same dtype.</summary>
    public static void Sizes(IProcessGroup g, Tensor whole, Tensor part, string op, string wholeName, string partName)
    {
        if (whole.dtype != part.dtype) throw new ArgumentException($"{op}: {wholeName} is {whole.dtype} but {partName} is {part.dtype}.");
        if (whole.numel() != part.numel() * g.Size)
            throw new ArgumentException($"{op}: {wholeName} has {whole.numel()} elements, expected {g.Size} × {partName}'s {part.numel()} for group '{g.Name}' of size {g.Size}.");
    }

    public static void Reducible(Tensor t, ReduceOp op, string what)
    {
        if (op == ReduceOp.Avg && !t.is_floating_point()) throw new ArgumentException($"{what}: Avg needs a floating-point tensor, got {t.dtype} (use Sum and divide).");
        if (t.dtype == ScalarType.Bool && op is ReduceOp.Sum) throw new ArgumentException($"{what}: Sum of a Bool tensor; use Max (any) or Min (all).");
        if (t.is_complex()) throw new ArgumentException($"{what}: complex tensors cannot be reduced; reduce a view_as_real of them.");
    }
}
