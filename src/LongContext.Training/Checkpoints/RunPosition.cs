namespace LongContext.Training.Checkpoints;

/// <summary>Where a run is: optimizer steps done, tokens seen (all and predicted), and training seconds so far (across resumes).</summary>
public sealed record RunPosition(int Step, long TokensSeen, long PredictedTokensSeen, double ElapsedSeconds);
