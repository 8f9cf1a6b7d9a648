using LongContext.Core.Inference;
using static TorchSharp.torch;

namespace LongContext.Tests.Inference;

public class SamplerTests
{
    // Probabilities 0.40, 0.25, 0.15, 0.10, 0.05, 0.03, 0.02 placed out of order, so index order ≠ rank order.
    static readonly double[] Probs = [0.10, 0.40, 0.02, 0.15, 0.05, 0.25, 0.03];
    static readonly int[] ByRank = [1, 5, 3, 0, 4, 6, 2];

    static Tensor Logits(double[] probs) => tensor(probs.Select(p => (float)Math.Log(p)).ToArray());

    static int[] Draw(SamplingOptions options, Tensor logits, int n)
    {
        var sampler = new Sampler(options);
        return Enumerable.Range(0, n).Select(_ => sampler.Next(logits)).ToArray();
    }

    /// <summary>Tokens drawn over many seeds, one sampler per seed.</summary>
    static HashSet<int> Support(SamplingOptions options, Tensor logits, int seeds = 300, int perSeed = 4) =>
        Enumerable.Range(0, seeds).SelectMany(s => Draw(options with { Seed = 1000 + s }, logits, perSeed)).ToHashSet();

    [Fact]
    public void Greedy_picks_the_argmax()
    {
        var logits = Logits(Probs);
        Assert.Equal(1, new Sampler(SamplingOptions.Greedy).Next(logits));
        var random = randn(1000, generator: new Generator(3));
        Assert.Equal((int)random.argmax().item<long>(), new Sampler(new SamplingOptions { Temperature = 0 }).Next(random));
    }

    [Fact]
    public void A_temperature_near_zero_behaves_like_greedy_and_a_high_one_flattens()
    {
        var logits = Logits(Probs);
        Assert.All(Draw(new SamplingOptions { Temperature = 1e-3, Seed = 1 }, logits, 200), t => Assert.Equal(1, t));

        var warmer = new Sampler(new SamplingOptions { Temperature = 4, Seed = 1 }).Warp(logits).softmax(0);
        var cooler = new Sampler(new SamplingOptions { Temperature = 0.5, Seed = 1 }).Warp(logits).softmax(0);
        Assert.True(warmer[1].item<float>() < 0.40f && cooler[1].item<float>() > 0.40f);
        // Temperature T divides the logits: p_T ∝ p^(1/T).
        var expected = Probs.Select(p => Math.Pow(p, 2)).ToArray();
        var sum = expected.Sum();
        for (int i = 0; i < Probs.Length; i++) Assert.Equal(expected[i] / sum, cooler[i].item<float>(), 5);
    }

    [Theory]
    [InlineData(9e-6)]
    [InlineData(1e-38)]
    [InlineData(1e-39)]
    [InlineData(double.Epsilon)]
    public void Temperatures_too_small_to_divide_by_pick_the_argmax_instead_of_failing(double temperature)
    {
        var logits = randn(600, generator: new Generator(5)) * 20;
        var argmax = (int)logits.argmax().item<long>();
        Assert.All(Draw(new SamplingOptions { Temperature = temperature, TopP = 0.9, Seed = 3 }, logits, 20), t => Assert.Equal(argmax, t));
    }

    [Fact]
    public void Top_k_of_one_equals_greedy_for_every_seed()
    {
        var logits = randn(500, generator: new Generator(7));
        var argmax = (int)logits.argmax().item<long>();
        Assert.Equal([argmax], Support(new SamplingOptions { Temperature = 1.5, TopK = 1 }, logits, seeds: 50));
    }

    [Fact]
    public void Top_k_restricts_support_to_the_k_most_likely_tokens()
    {
        var logits = Logits(Probs);
        var support = Support(new SamplingOptions { Temperature = 1, TopK = 3 }, logits, seeds: 100);
        Assert.Equal(ByRank[..3].ToHashSet(), support);             // all three drawn, nothing else

        var warped = new Sampler(new SamplingOptions { Temperature = 1, TopK = 3, Seed = 0 }).Warp(logits);
        var kept = Enumerable.Range(0, Probs.Length).Where(i => !float.IsNegativeInfinity(warped[i].item<float>())).ToHashSet();
        Assert.Equal(ByRank[..3].ToHashSet(), kept);
    }

    [Theory]
    [InlineData(0.30, 1)]   // 0.40 alone reaches p
    [InlineData(0.60, 2)]   // 0.40 + 0.25 = 0.65
    [InlineData(0.75, 3)]   // + 0.15 = 0.80
    [InlineData(0.85, 4)]   // + 0.10 = 0.90
    [InlineData(0.97, 6)]   // + 0.05 + 0.03 = 0.98
    public void Top_p_keeps_the_smallest_most_likely_set_whose_mass_reaches_p(double p, int expectedCount)
    {
        var logits = Logits(Probs);
        var warped = new Sampler(new SamplingOptions { Temperature = 1, TopP = p, Seed = 0 }).Warp(logits);
        var kept = Enumerable.Range(0, Probs.Length).Where(i => !float.IsNegativeInfinity(warped[i].item<float>())).ToHashSet();
        Assert.Equal(ByRank[..expectedCount].ToHashSet(), kept);
        // Kept tokens keep their logits (renormalised by the softmax that follows).
        foreach (var i in kept) Assert.Equal((float)Math.Log(Probs[i]), warped[i].item<float>(), 5);

        var support = Support(new SamplingOptions { Temperature = 1, TopP = p }, logits, seeds: 60);
        Assert.Subset(kept, support);
    }

    [Fact]
    public void Top_p_always_keeps_the_most_likely_token_and_runs_after_top_k()
    {
        var logits = Logits(Probs);
        var tiny = new Sampler(new SamplingOptions { Temperature = 1, TopP = 1e-6, Seed = 0 });
        Assert.All(Enumerable.Range(0, 50).Select(_ => tiny.Next(logits)), t => Assert.Equal(1, t));

        // top-k = 2 first renormalises to {0.40, 0.25}: 0.40/0.65 = 0.615 ≥ 0.6, so top-p 0.6 then keeps one token.
        // (Top-p first would keep two: 0.40 < 0.6 ≤ 0.65.)
        var warped = new Sampler(new SamplingOptions { Temperature = 1, TopK = 2, TopP = 0.6, Seed = 0 }).Warp(logits);
        Assert.Equal(1, Enumerable.Range(0, Probs.Length).Count(i => !float.IsNegativeInfinity(warped[i].item<float>())));
    }

    [Fact]
    public void The_same_seed_repeats_the_sequence_and_another_seed_does_not()
    {
        var logits = randn(200, generator: new Generator(11));
        var options = new SamplingOptions { Temperature = 1.0, TopP = 0.95, TopK = 50, Seed = 123 };
        var a = Draw(options, logits, 64);
        Assert.Equal(a, Draw(options, logits, 64));
        Assert.NotEqual(a, Draw(options with { Seed = 124 }, logits, 64));   // 64 draws over ≥ 2 tokens: equal by chance ~never
        Assert.True(a.Distinct().Count() > 5);
    }

    [Fact]
    public void Samples_at_temperature_one_follow_the_softmax()
    {
        const int n = 3000;
        var counts = new int[Probs.Length];
        foreach (var t in Draw(new SamplingOptions { Temperature = 1, Seed = 2024 }, Logits(Probs), n)) counts[t]++;
        // Pearson's chi-square with 6 degrees of freedom: 22.5 is its 0.999 quantile. The seed is fixed, so this cannot flake.
        var chi2 = Probs.Select((p, i) => Math.Pow(counts[i] - n * p, 2) / (n * p)).Sum();
        Assert.True(chi2 < 22.5, $"chi-square {chi2:F1}; counts {string.Join(",", counts)}");
        // And it is not vacuous: a uniform draw is far off.
        var uniform = Probs.Sum(p => Math.Pow(n / 7.0 - n * p, 2) / (n * p));
        Assert.True(uniform > 100);
    }

    [Fact]
    public void Invalid_top_p_and_top_k_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingOptions { Temperature = 1, TopP = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingOptions { Temperature = 1, TopP = 1.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingOptions { Temperature = 1, TopK = -1 }));
    }
}
