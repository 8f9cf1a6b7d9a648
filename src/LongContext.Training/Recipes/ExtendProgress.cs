namespace LongContext.Training.Recipes;

/// <summary>Progress of an extension run: which stage, and the trainer's step progress inside it (null between phases).</summary>
public sealed record ExtendProgress(int Stage, int Stages, long Length, string Phase, Loop.TrainingProgress? Training);
