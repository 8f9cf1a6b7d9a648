namespace LongContext.Training.Quickstart;

/// <summary>The recipe's phases, in order.</summary>
public enum QuickstartPhase { Pretrain, EvalBefore, Extend, EvalAfter }

/// <summary>A progress tick: <paramref name="Step"/> of <paramref name="Total"/> in a phase (steps or grid cells), with the loss while training.</summary>
public sealed record QuickstartProgress(QuickstartPhase Phase, int Step, int Total, double? Loss = null, double? Accuracy = null);
