namespace LongContext.Training.Recipes;

/// <summary>Scores an exported stage model at its length (the CLI plugs in a quick NIAH); returns its score (0–100).</summary>
public delegate Task<double?> StageEvaluator(string modelDir, int length, string outDir, CancellationToken ct);
