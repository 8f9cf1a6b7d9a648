using static TorchSharp.torch;

namespace LongContext.Training.Optim;

/// <summary>
/// What the trainer needs of an optimizer: a step from the parameters' .grad at a learning rate, zero_grad, and its
/// state by name for checkpoints. <see cref="AdamW"/> is the one we ship; a sharded optimizer (ZeRO: each data-parallel
/// rank owns a slice of the masters and moments) plugs in through <see cref="OptimizerFactory"/> without loop changes.
/// </summary>
public interface IOptimizer : IDisposable
{
    /// <summary>Optimizer steps taken (t in Adam's bias corrections); saved in checkpoints.</summary>
    long StepCount { get; }

    /// <summary>One update with learning rate <paramref name="lr"/> from the parameters' .grad (those without one are skipped).</summary>
    void Step(double lr);

    /// <summary>Drops every parameter's gradient (torch's zero_grad(set_to_none=True)).</summary>
    void ZeroGrad();

    /// <summary>The state a resume needs, by name (e.g. exp_avg.NAME), in a stable order.</summary>
    IEnumerable<KeyValuePair<string, Tensor>> StateTensors();

    /// <summary>
    /// Restores what <see cref="StateTensors"/> gave: <paramref name="load"/> returns the named tensor or null when
    /// absent; <paramref name="source"/> names the file in errors.
    /// </summary>
    void LoadState(long stepCount, Func<string, Tensor?> load, string source);
}

/// <summary>Builds the optimizer of a run over its trainable parameters (by HF name, in a stable order).</summary>
public delegate IOptimizer OptimizerFactory(IReadOnlyList<KeyValuePair<string, Tensor>> trainable);
