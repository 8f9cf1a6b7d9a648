namespace LongContext.Training.Topology;

/// <summary>
/// What every process must see the same way at a step's decision point (<see cref="ITrainingTopology.Agree"/>): the
/// summed loss for the log, whether anything was not finite (then no process steps), and whether to stop after this
/// step (Ctrl-C reaches the processes at slightly different moments).
/// </summary>
/// <param name="LossSum">Summed token cross-entropy of the micro-batches (before dividing by the global token count).</param>
/// <param name="NonFinite">The loss or the gradient norm is NaN or infinite.</param>
/// <param name="StopRequested">Cancellation was requested.</param>
public readonly record struct StepDecision(double LossSum, bool NonFinite, bool StopRequested)
{
    /// <summary>The check before a step starts: only whether to stop.</summary>
    public static StepDecision StopCheck(bool stopRequested) => new(0, false, stopRequested);
}
