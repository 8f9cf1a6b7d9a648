using LongContext.Training.Loop;

namespace LongContext.Training.Optim;

/// <summary>
/// The learning rate as a pure function of the step index (0-based: step s is the (s+1)-th optimizer update).
/// Warmup is linear and reaches the peak on its last step: lr·(s+1)/warmup for s &lt; warmup (unlike HF's
/// schedules, the first update is not taken at lr 0). After warmup, constant, or cosine from lr down to
/// lr·min_lr_ratio, with progress (s − warmup)/(max_steps − warmup), so the floor is where a step max_steps would be.
/// </summary>
public static class LrSchedule
{
    public static double At(int step, TrainingOptions o) =>
        At(step, o.LearningRate, o.WarmupSteps, o.MaxSteps, o.Schedule, o.MinLrRatio);

    public static double At(int step, double lr, int warmupSteps, int maxSteps, LrScheduleKind kind, double minLrRatio)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < warmupSteps) return lr * (step + 1) / warmupSteps;
        if (kind == LrScheduleKind.Constant) return lr;
        double progress = Math.Clamp((double)(step - warmupSteps) / Math.Max(1, maxSteps - warmupSteps), 0.0, 1.0);
        double minLr = lr * minLrRatio;
        return minLr + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (lr - minLr);
    }
}
