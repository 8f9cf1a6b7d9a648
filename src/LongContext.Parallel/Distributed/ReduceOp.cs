namespace LongContext.Parallel.Distributed;

/// <summary>How <see cref="IProcessGroup.AllReduceAsync"/> and reduce-scatter combine the ranks' values.</summary>
public enum ReduceOp
{
    Sum,
    /// <summary>Sum divided by the group size (floating-point tensors only).</summary>
    Avg,
    Max,
    Min,
}
