using LongContext.Formats.Config;
using LongContext.Training.Plan;

namespace LongContext.Tests.Plan;

public class ThetaRuleTests
{
    private static readonly RopeBaseline Llama3 = new(500000, 8192, 128);

    [Fact]
    public void Scaling_law_reproduces_gradients_published_theta_for_1M_and_4M()
    {
        var thetas = ThetaRule.Default.ThetasFor(Llama3, [1L << 20, 1L << 22]);
        Assert.Equal(3_580_165_449d, thetas[0]);   // Llama-3-70B-Instruct-Gradient-1048k config
        Assert.Equal(45_218_125_210d, thetas[1]);  // Llama-3-8B-Instruct-Gradient-4194k config
    }

    [Fact]
    public void Ntk_rule_scales_theta_by_s_to_the_d_over_d_minus_2()
    {
        // s = 65536/8192 = 8, d = 128: 500000 · 8^(128/126) = 4,131,014 (reference doc: "4.13M at 65K").
        var theta = ThetaRule.Parse("ntk").ThetasFor(Llama3, [1L << 16])[0];
        Assert.Equal(Math.Round(500000 * Math.Pow(8, 128.0 / 126)), theta);
        Assert.InRange(theta, 4.13e6, 4.14e6);
    }

    [Fact]
    public void Fixed_rule_returns_the_given_values_one_per_stage()
    {
        var rule = ThetaRule.Parse("fixed:15296098, 2.07112184e8");
        Assert.Equal([15_296_098d, 207_112_184d], rule.ThetasFor(Llama3, [1L << 16, 1L << 18]));
        var e = Assert.Throws<ConfigException>(() => rule.ThetasFor(Llama3, [1L << 16]));
        Assert.Contains("one θ per stage", e.Message);
    }

    [Theory]
    [InlineData("yarn")]
    [InlineData("fixed:")]
    [InlineData("fixed:abc")]
    [InlineData("fixed:0.5")]
    public void Rejects_unknown_rules_and_bad_values(string text) =>
        Assert.Throws<ConfigException>(() => ThetaRule.Parse(text));

    [Fact]
    public void Baseline_of_a_llama3_scaled_model_uses_the_original_training_length()
    {
        var baseline = RopeBaseline.From(ModelPresets.Get("llama-3.1-8b"));
        Assert.Equal(new RopeBaseline(500000, 8192, 128), baseline);
        Assert.Equal(new RopeBaseline(10000, 256, 16), RopeBaseline.From(ModelPresets.Get("tiny")));
    }
}
