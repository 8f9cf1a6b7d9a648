using LongContext.Training.Plan;

namespace LongContext.Tests.Plan;

public class StageScheduleTests
{
    [Fact]
    public void Default_from_8K_to_1M_is_gradients_64K_256K_512K_1M() =>
        Assert.Equal([1L << 16, 1L << 18, 1L << 19, 1L << 20], StageSchedule.Default(8192, 1L << 20));

    [Fact]
    public void Default_keeps_doubling_past_1M_and_caps_at_the_target()
    {
        Assert.Equal([1L << 16, 1L << 18, 1L << 19, 1L << 20, 1L << 21, 1L << 22], StageSchedule.Default(8192, 1L << 22));
        Assert.Equal([1L << 16, 1L << 18, 300_000L], StageSchedule.Default(8192, 300_000));
        Assert.Equal([32_768L], StageSchedule.Default(8192, 32_768));
        Assert.Equal([1L << 20], StageSchedule.Default(131_072, 1L << 20));
    }

    [Fact]
    public void Target_not_above_the_native_length_is_an_error() =>
        Assert.Contains("nothing to extend", Assert.Throws<ConfigException>(() => StageSchedule.Default(8192, 8192)).Message);

    [Theory]
    [InlineData(new long[] { 4096, 65536 }, null, "not longer")]
    [InlineData(new long[] { 262144, 65536 }, null, "must increase")]
    [InlineData(new long[] { 65536, 262144 }, 1048576L, "--target")]
    public void Validate_rejects_bad_user_stages(long[] stages, long? target, string message) =>
        Assert.Contains(message, Assert.Throws<ConfigException>(() => StageSchedule.Validate(stages, 8192, target)).Message);

    [Fact]
    public void Gradient_budgets_are_used_where_the_length_matches_and_interpolated_between()
    {
        Assert.Equal(838_860_800L, GradientRecipe.DefaultTokens(1L << 20));
        Assert.Equal(62_914_560L, GradientRecipe.DefaultTokens(1L << 16));
        // 128K lies halfway (in log length) between 64K and 256K: the geometric mean of their budgets.
        Assert.Equal((long)Math.Round(Math.Sqrt(62_914_560d * 100_663_296d)), GradientRecipe.DefaultTokens(1L << 17));
        // Below 64K: Gradient's 960 sequences of the stage length.
        Assert.Equal(960L * 32_768, GradientRecipe.DefaultTokens(32_768));
        Assert.Equal(16, GradientRecipe.DefaultBatchSequences(1L << 20));
        Assert.Equal(16, GradientRecipe.DefaultBatchSequences(1L << 17)); // 2M tokens/step of 64K (tie → shorter)
    }
}
