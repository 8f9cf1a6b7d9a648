namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// How a training run's context-parallel ranks attend (`--cp-attention`): the variant asked for (auto: by
/// <see cref="ContextParallelChoice"/>'s cost model, per attention shape) and what that model assumes about the machine.
/// </summary>
public sealed record ContextParallelOptions(ContextParallelVariant Attention = ContextParallelVariant.Auto, ContextParallelHardware? Hardware = null);
