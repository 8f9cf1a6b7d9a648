using LongContext.Core.Rope;
using LongContext.Formats.Config;

namespace LongContext.Tests.Rope;

public class ScalingLawTests
{
    [Theory]
    [InlineData(1_048_576, 3_580_165_449L)]
    [InlineData(4_194_304, 45_218_125_210L)]
    public void Critical_theta_reproduces_gradients_published_llama3_values(double target, long published)
    {
        var theta = ScalingLaw.CriticalTheta(500_000, 8192, target);
        Assert.Equal(published, (long)Math.Round(theta));   // 3,580,165,449.11 and 45,218,125,209.67
    }

    [Fact]
    public void Critical_theta_is_theta0_at_the_trained_length_and_grows_with_target()
    {
        Assert.Equal(500_000, ScalingLaw.CriticalTheta(500_000, 8192, 8192), 1e-6);
        Assert.True(ScalingLaw.CriticalTheta(500_000, 8192, 65_536) < ScalingLaw.CriticalTheta(500_000, 8192, 262_144));
    }

    [Fact]
    public void Target_length_for_theta_inverts_critical_theta()
    {
        var theta = ScalingLaw.CriticalTheta(500_000, 8192, 1_048_576);
        Assert.Equal(1_048_576, ScalingLaw.TargetLengthForTheta(500_000, 8192, theta), 1e-3);
        // Gradient's stage θ (15.3M, 207.1M, 1.06B) imply 53,145 / 220,821 / 539,736 tokens.
        Assert.Equal(53_145, ScalingLaw.TargetLengthForTheta(500_000, 8192, 15_296_098), 1.0);
        Assert.Equal(220_821, ScalingLaw.TargetLengthForTheta(500_000, 8192, 207_112_184), 1.0);
        Assert.Equal(539_736, ScalingLaw.TargetLengthForTheta(500_000, 8192, 1_062_356_830), 1.0);
    }

    [Fact]
    public void Ntk_aware_theta_is_theta0_times_scale_to_d_over_d_minus_2()
    {
        Assert.Equal(4.134e6, ScalingLaw.NtkAwareTheta(500_000, 8, 128), 1e3);       // 65K from 8K
        Assert.Equal(69.1e6, ScalingLaw.NtkAwareTheta(500_000, 128, 128), 0.1e6);     // 1M from 8K
        Assert.Equal(500_000 * Math.Pow(4, 64.0 / 62), ScalingLaw.NtkAwareTheta(500_000, 4, 64), 1e-6);
    }

    [Fact]
    public void Llama3_critical_dimension_is_70_of_128()
    {
        Assert.Equal(70, ScalingLaw.CriticalDimension(500_000, 8192, 128));
        Assert.Equal(128, ScalingLaw.CriticalDimension(100, 8192, 128));
    }

    [Fact]
    public void Wavelengths_run_from_2pi_to_2pi_theta_to_the_d_minus_2_over_d()
    {
        var w = ScalingLaw.Wavelengths(500_000, 128);
        Assert.Equal(64, w.Length);
        Assert.Equal(2 * Math.PI, w[0], 1e-12);
        Assert.Equal(2 * Math.PI * Math.Pow(500_000, 126.0 / 128), w[63], 1e-3);
        Assert.Equal(8218.718, w[35], 1e-3);
        var fromFreq = ScalingLaw.Wavelengths(RopeFrequencies.Compute(new RopeParameters { RopeTheta = 500_000 }, 128, 8192));
        for (var i = 0; i < 64; i++)
            Assert.Equal(w[i], fromFreq[i], w[i] * 4e-6);
    }

    [Fact]
    public void Invalid_inputs_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ScalingLaw.CriticalTheta(500_000, 1, 1_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => ScalingLaw.NtkAwareTheta(500_000, 0, 128));
        Assert.Throws<ArgumentOutOfRangeException>(() => ScalingLaw.Wavelengths(500_000, 7));
    }
}
