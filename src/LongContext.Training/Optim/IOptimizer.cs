using static TorchSharp.torch;

namespace LongContext.Training.Optim;

/// <summary>
/// What the trainer needs of an optimizer: a step from the parameters' .grad at a learning rate, zero_grad, and its
/// state by name for checkpoints. <see cref="AdamW"/> holds whole tensors; a sharded optimizer (ZeRO: each
/// data-parallel rank owns a slice of the masters and moments, LongContext.Parallel's ShardedAdamW) holds element
/// ranges of the same named tensors, so a checkpoint written at one world size loads at another.
/// </summary>
public interface IOptimizer : IDisposable
{
    /// <summary>Optimizer steps taken (t in Adam's bias corrections); saved in checkpoints.</summary>
    long StepCount { get; }

    /// <summary>One update with learning rate <paramref name="lr"/> from the parameters' .grad (those without one are skipped).</summary>
    void Step(double lr);

    /// <summary>Drops every parameter's gradient (torch's zero_grad(set_to_none=True)).</summary>
    void ZeroGrad();

    /// <summary>
    /// True when every process holds the same whole state (a replicated optimizer: rank 0's copy is saved); false
    /// when each holds its own part (sharded: every rank saves its part).
    /// </summary>
    bool ReplicatedState => true;

    /// <summary>The state this process holds, by name (e.g. exp_avg.NAME), whole or as element ranges, in a stable order.</summary>
    IEnumerable<OptimizerStateSlice> StateSlices();

    /// <summary>Restores state written from <see cref="StateSlices"/> (at any world size) from <paramref name="source"/>.</summary>
    void LoadState(long stepCount, IOptimizerStateSource source);
}

/// <summary>Builds the optimizer of a run over its trainable parameters (by HF name, in a stable order).</summary>
public delegate IOptimizer OptimizerFactory(IReadOnlyList<KeyValuePair<string, Tensor>> trainable);
