using LongContext.Training.Loop;
using LongContext.Training.Optim;

namespace LongContext.Tests.Training;

public class LrScheduleTests
{
    static readonly TrainingOptions Cosine = new() { LearningRate = 1e-3, WarmupSteps = 10, MaxSteps = 110, MinLrRatio = 0.1 };

    [Theory]
    [InlineData(0, 1e-4)]     // first update already moves: lr·1/10
    [InlineData(4, 5e-4)]
    [InlineData(9, 1e-3)]     // last warmup step reaches the peak
    [InlineData(10, 1e-3)]    // cosine starts at the peak
    [InlineData(60, 5.5e-4)]  // half way: (lr + min)/2
    [InlineData(110, 1e-4)]   // the floor, lr · min_lr_ratio
    [InlineData(500, 1e-4)]   // past the end it stays there
    public void Warmup_then_cosine_to_the_floor(int step, double expected) =>
        Assert.Equal(expected, LrSchedule.At(step, Cosine), 12);

    [Fact]
    public void Cosine_decreases_monotonically_after_warmup()
    {
        var values = Enumerable.Range(10, 101).Select(s => LrSchedule.At(s, Cosine)).ToArray();
        Assert.All(values.Zip(values.Skip(1)), p => Assert.True(p.Second <= p.First));
        Assert.Equal(1e-4 + 0.5 * (1 + Math.Cos(Math.PI * 0.25)) * 9e-4, LrSchedule.At(35, Cosine), 12);
    }

    [Theory]
    [InlineData(0, 0.5)]
    [InlineData(1, 1.0)]
    [InlineData(2, 1.0)]
    [InlineData(99, 1.0)]
    public void Constant_after_warmup(int step, double expected) =>
        Assert.Equal(expected, LrSchedule.At(step, new TrainingOptions { LearningRate = 1.0, WarmupSteps = 2, MaxSteps = 100, Schedule = LrScheduleKind.Constant }), 12);

    [Fact]
    public void No_warmup_starts_at_the_peak() =>
        Assert.Equal(2e-5, LrSchedule.At(0, new TrainingOptions { LearningRate = 2e-5, WarmupSteps = 0, MaxSteps = 10 }), 15);
}
