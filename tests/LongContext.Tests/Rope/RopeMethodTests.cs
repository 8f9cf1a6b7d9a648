using LongContext.Core.Rope;
using LongContext.Formats.Config;

namespace LongContext.Tests.Rope;

public class RopeMethodTests
{
    // float32 inv_freq against a double formula: the float32 exponent 2i/d alone moves θ^(2i/d) by up to
    // ln(θ)·6e-8, so allow a few parts per million.
    private const double FloatRel = 4e-6;

    private static RopeParameters Llama31 => new()
    {
        RopeType = "llama3", RopeTheta = 500_000, Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4,
        OriginalMaxPositionEmbeddings = 8192,
    };

    [Theory]
    [InlineData(10_000.0, 128)]
    [InlineData(500_000.0, 128)]
    [InlineData(1_000_000.0, 64)]
    [InlineData(10_000.0, 2)]
    public void Default_matches_theta_power_formula_and_hf_torch_ops(double theta, int headDim)
    {
        var f = RopeFrequencies.Compute(new RopeParameters { RopeTheta = theta }, headDim, 4096);
        Assert.Equal(1.0, f.AttentionScaling);
        Assert.Equal(headDim, f.RotaryDim);
        Assert.Equal(1f, f.InvFreq[0]);
        RopeReference.AssertRelClose(RopeReference.Default(theta, headDim), f.InvFreq, FloatRel, "default");
        RopeReference.AssertWithinUlps(RopeReference.TorchDefault(theta, headDim), f.InvFreq, 1, "default vs torch");
    }

    [Fact]
    public void Partial_rotary_factor_rotates_int_of_head_dim_times_factor()
    {
        // int(80 * 0.4) = 32 rotated channels for yarn; exponents use that dimension, not head_dim. Llama's default
        // method rotates the whole head regardless, as transformers 5.17 does (recorded fixture).
        var yarn = RopeFrequencies.Compute(new RopeParameters { RopeType = "yarn", RopeTheta = 10_000, Factor = 1, PartialRotaryFactor = 0.4 }, 80, 2048);
        Assert.Equal(32, yarn.RotaryDim);
        var f = RopeFrequencies.Compute(new RopeParameters { RopeTheta = 10_000, PartialRotaryFactor = 0.4 }, 80, 2048);
        Assert.Equal(80, f.RotaryDim);
        RopeReference.AssertRelClose(RopeReference.Default(10_000, 80), f.InvFreq, FloatRel, "default ignores partial");
    }

    [Fact]
    public void Odd_rotary_dimension_is_a_config_error_naming_the_fields()
    {
        var ex = Assert.Throws<ConfigException>(() =>
            RopeFrequencies.Compute(new RopeParameters { PartialRotaryFactor = 0.5 }, 66, 2048));
        Assert.Contains("partial_rotary_factor", ex.Message);
    }

    [Fact]
    public void Linear_divides_every_frequency_by_the_factor()
    {
        var rope = new RopeParameters { RopeType = "linear", RopeTheta = 10_000, Factor = 4 };
        var f = RopeFrequencies.Compute(rope, 128, 4096);
        RopeReference.AssertRelClose(RopeReference.Linear(10_000, 128, 4), f.InvFreq, FloatRel, "linear");
        var d = RopeFrequencies.Compute(rope with { RopeType = "default" }, 128, 4096);
        for (var i = 0; i < d.InvFreq.Length; i++)
            Assert.Equal(d.InvFreq[i] / 4f, f.InvFreq[i]);
        Assert.Equal(1.0, f.AttentionScaling);
    }

    [Fact]
    public void Linear_without_factor_is_a_config_error()
    {
        var ex = Assert.Throws<ConfigException>(() =>
            RopeFrequencies.Compute(new RopeParameters { RopeType = "linear" }, 128, 4096));
        Assert.Contains("rope_parameters.factor", ex.Message);
    }

    [Fact]
    public void Unknown_rope_type_is_a_config_error_listing_supported_types()
    {
        var ex = Assert.Throws<ConfigException>(() =>
            RopeFrequencies.Compute(new RopeParameters { RopeType = "ntk-by-parts" }, 128, 4096));
        Assert.Contains("llama3", ex.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1000)]
    [InlineData(2048)]
    public void Dynamic_equals_default_up_to_max_position_embeddings(int? seqLen)
    {
        var rope = new RopeParameters { RopeType = "dynamic", RopeTheta = 10_000, Factor = 2 };
        var f = RopeFrequencies.Compute(rope, 128, 2048, seqLen);
        var d = RopeFrequencies.Compute(new RopeParameters { RopeTheta = 10_000 }, 128, 2048);
        Assert.Equal(d.InvFreq, f.InvFreq);
    }

    [Theory]
    [InlineData(4096)]
    [InlineData(10_000)]
    [InlineData(65_536)]
    public void Dynamic_rescales_the_base_beyond_max_position_embeddings(int seqLen)
    {
        var rope = new RopeParameters { RopeType = "dynamic", RopeTheta = 10_000, Factor = 2 };
        var f = RopeFrequencies.Compute(rope, 128, 2048, seqLen);
        RopeReference.AssertRelClose(RopeReference.Dynamic(10_000, 128, 2, 2048, seqLen), f.InvFreq, FloatRel, "dynamic");
        Assert.Equal(1.0, f.AttentionScaling);
    }

    [Fact]
    public void Dynamic_at_twice_max_positions_with_factor_2_uses_base_times_3_to_the_d_over_d_minus_2()
    {
        // hand check: 2·4096/2048 − 1 = 3, so base = 10,000 · 3^(128/126).
        var f = RopeFrequencies.Compute(new RopeParameters { RopeType = "dynamic", RopeTheta = 10_000, Factor = 2 }, 128, 2048, 4096);
        var b = 10_000 * Math.Pow(3, 128.0 / 126);
        Assert.Equal(Math.Pow(b, -2.0 / 128), f.InvFreq[1], 1e-6 * f.InvFreq[1]);
        Assert.Equal(Math.Pow(b, -126.0 / 128), f.InvFreq[63], 4e-6 * f.InvFreq[63]);
    }

    [Fact]
    public void Dynamic_tensor_seq_len_path_matches_hf_float32_ops()
    {
        var rope = new RopeParameters { RopeType = "dynamic", RopeTheta = 10_000, Factor = 3 };
        foreach (var len in new[] { 2049L, 5000L, 123_457L })
        {
            var f = DynamicNtkRope.ComputeForTensorSeqLen(rope, 128, 2048, len);
            RopeReference.AssertWithinUlps(RopeReference.TorchDynamicTensorSeqLen(10_000, 128, 3, 2048, len), f.InvFreq, 1, $"dynamic@{len}");
            // and the Python-int path agrees to float32 accuracy
            var g = RopeFrequencies.Compute(rope, 128, 2048, (int)len);
            RopeReference.AssertRelClose(g.InvFreq.Select(x => (double)x).ToArray(), f.InvFreq, FloatRel, "dynamic int vs tensor");
        }
    }

    [Fact]
    public void Yarn_qwen25_style_ramp_bounds_are_23_and_40()
    {
        // θ 1e6, d 128, original 32,768: r = 32 turns at index 23.6 → floor 23; r = 1 at 39.65 → ceil 40.
        var (low, high) = YarnRope.FindCorrectionRange(32, 1, 128, 1e6, 32768, truncate: true);
        Assert.Equal(23, low);
        Assert.Equal(40, high);
        var (l2, h2) = YarnRope.FindCorrectionRange(32, 1, 128, 1e6, 32768, truncate: false);
        Assert.Equal(23.596, l2, 1e-3);
        Assert.Equal(39.651, h2, 1e-3);
    }

    [Theory]
    [InlineData(1e6, 128, 4.0, 32768, true)]
    [InlineData(10_000, 128, 16.0, 4096, true)]
    [InlineData(10_000, 64, 8.0, 2048, false)]
    [InlineData(500_000, 128, 32.0, 8192, true)]
    public void Yarn_blends_interpolated_and_original_frequencies(double theta, int headDim, double factor, int orig, bool truncate)
    {
        var rope = new RopeParameters
        {
            RopeType = "yarn", RopeTheta = theta, Factor = factor, OriginalMaxPositionEmbeddings = orig, Truncate = truncate,
        };
        var f = RopeFrequencies.Compute(rope, headDim, orig * (int)factor);
        RopeReference.AssertRelClose(RopeReference.Yarn(theta, headDim, factor, orig, truncate: truncate), f.InvFreq, FloatRel, "yarn");
        Assert.Equal(0.1 * Math.Log(factor) + 1, f.AttentionScaling, 1e-15);

        var (low, high) = YarnRope.FindCorrectionRange(32, 1, headDim, theta, orig, truncate);
        RopeReference.AssertWithinUlps(RopeReference.TorchYarn(theta, headDim, factor, low, high), f.InvFreq, 1, "yarn vs torch");

        // the fastest pair is untouched, the slowest fully interpolated
        var d = RopeFrequencies.Compute(new RopeParameters { RopeTheta = theta }, headDim, orig);
        Assert.Equal(d.InvFreq[0], f.InvFreq[0]);
        Assert.Equal(d.InvFreq[^1] / factor, f.InvFreq[^1], 1e-6 * f.InvFreq[^1]);
    }

    [Fact]
    public void Yarn_attention_factor_follows_mscale_rules()
    {
        Assert.Equal(1.1386294361119891, YarnRope.DefaultAttentionFactor(4), 1e-15);
        Assert.Equal(1.0, YarnRope.DefaultAttentionFactor(40, 1.0, 1.0), 1e-15);               // DeepSeek-V3
        Assert.Equal((0.1 * Math.Log(40) + 1) / (0.05 * Math.Log(40) + 1), YarnRope.DefaultAttentionFactor(40, 1.0, 0.5), 1e-15);
        Assert.Equal(0.1 * Math.Log(40) + 1, YarnRope.DefaultAttentionFactor(40, 1.0, 0), 1e-15); // `mscale and mscale_all_dim` false
        Assert.Equal(1.0, YarnRope.GetMScale(0.5));

        var rope = new RopeParameters { RopeType = "yarn", Factor = 40, MScale = 1, MScaleAllDim = 0.5, OriginalMaxPositionEmbeddings = 4096 };
        Assert.Equal(YarnRope.DefaultAttentionFactor(40, 1, 0.5), RopeFrequencies.Compute(rope, 64, 163_840).AttentionScaling);
        var given = rope with { AttentionFactor = 0.75 };
        Assert.Equal(0.75, RopeFrequencies.Compute(given, 64, 163_840).AttentionScaling);
    }

    [Fact]
    public void Yarn_explicit_factor_wins_and_missing_factor_is_max_over_original_positions()
    {
        var explicitFactor = new RopeParameters { RopeType = "yarn", RopeTheta = 1e6, Factor = 4, OriginalMaxPositionEmbeddings = 32768 };
        var a = RopeFrequencies.Compute(explicitFactor, 128, 131072);
        var b = RopeFrequencies.Compute(explicitFactor, 128, 40960);      // config max positions differ: factor 4 still used
        Assert.Equal(a.InvFreq, b.InvFreq);
        Assert.Equal(a.AttentionScaling, b.AttentionScaling);

        var implicitFactor = explicitFactor with { Factor = null };
        var c = RopeFrequencies.Compute(implicitFactor, 128, 131072);     // 131072 / 32768 = 4
        Assert.Equal(a.InvFreq, c.InvFreq);
        var e = RopeFrequencies.Compute(implicitFactor, 128, 65536);      // 2
        Assert.Equal(0.1 * Math.Log(2) + 1, e.AttentionScaling, 1e-15);
    }

    [Fact]
    public void Yarn_without_original_max_uses_max_position_embeddings()
    {
        var a = RopeFrequencies.Compute(new RopeParameters { RopeType = "yarn", RopeTheta = 1e4, Factor = 4 }, 64, 4096);
        var b = RopeFrequencies.Compute(new RopeParameters { RopeType = "yarn", RopeTheta = 1e4, Factor = 4, OriginalMaxPositionEmbeddings = 4096 }, 64, 4096);
        Assert.Equal(b.InvFreq, a.InvFreq);
    }

    [Fact]
    public void Yarn_beta_defaults_are_32_and_1_also_for_zero()
    {
        var baseRope = new RopeParameters { RopeType = "yarn", RopeTheta = 1e4, Factor = 8, OriginalMaxPositionEmbeddings = 2048 };
        var a = RopeFrequencies.Compute(baseRope, 64, 16384);
        var b = RopeFrequencies.Compute(baseRope with { BetaFast = 32, BetaSlow = 1 }, 64, 16384);
        var c = RopeFrequencies.Compute(baseRope with { BetaFast = 0, BetaSlow = 0 }, 64, 16384);
        var d = RopeFrequencies.Compute(baseRope with { BetaFast = 16, BetaSlow = 2 }, 64, 16384);
        Assert.Equal(a.InvFreq, b.InvFreq);
        Assert.Equal(a.InvFreq, c.InvFreq);
        Assert.NotEqual(a.InvFreq, d.InvFreq);
    }

    [Fact]
    public void Llama31_keeps_29_pairs_smooths_6_and_divides_29_by_8()
    {
        // θ 500,000, d 128: λ_28 = 1956 < 8192/4 kept; λ_29 = 2402 … λ_34 = 6695 smoothed; λ_35 = 8219 > 8192 divided.
        var f = RopeFrequencies.Compute(Llama31, 128, 131072);
        var d = RopeFrequencies.Compute(new RopeParameters { RopeTheta = 500_000 }, 128, 131072);
        for (var i = 0; i <= 28; i++)
            Assert.Equal(d.InvFreq[i], f.InvFreq[i]);
        for (var i = 35; i < 64; i++)
            Assert.Equal(d.InvFreq[i] / 8f, f.InvFreq[i]);
        for (var i = 29; i <= 34; i++)
            Assert.True(f.InvFreq[i] < d.InvFreq[i] && f.InvFreq[i] > d.InvFreq[i] / 8, $"pair {i} should be blended");
        // pair 29: smooth = (8192/λ − 1)/3 = 0.80362…, inv = inv₀·(smooth + (1 − smooth)/8)
        var lambda29 = 2 * Math.PI * Math.Pow(500_000, 58.0 / 128);
        var smooth = (8192 / lambda29 - 1) / 3;
        Assert.Equal(0.80362, smooth, 1e-5);
        Assert.Equal(d.InvFreq[29] * (smooth + (1 - smooth) / 8), f.InvFreq[29], 2e-6 * f.InvFreq[29]);
        Assert.Equal(1.0, f.AttentionScaling);

        RopeReference.AssertRelClose(RopeReference.Llama3(500_000, 128, 8, 1, 4, 8192), f.InvFreq, FloatRel, "llama3");
        RopeReference.AssertWithinUlps(RopeReference.TorchLlama3(500_000, 128, 8, 1, 4, 8192), f.InvFreq, 1, "llama3 vs torch");
    }

    [Theory]
    [InlineData(500_000.0, 64, 32.0, 1.0, 4.0, 8192)]   // Llama-3.2-1B/3B
    [InlineData(10_000.0, 128, 4.0, 2.0, 8.0, 4096)]
    public void Llama3_matches_wavelength_rule_and_hf_torch_ops(double theta, int headDim, double factor, double low, double high, int orig)
    {
        var rope = new RopeParameters
        {
            RopeType = "llama3", RopeTheta = theta, Factor = factor, LowFreqFactor = low, HighFreqFactor = high,
            OriginalMaxPositionEmbeddings = orig,
        };
        var f = RopeFrequencies.Compute(rope, headDim, orig * 16);
        RopeReference.AssertRelClose(RopeReference.Llama3(theta, headDim, factor, low, high, orig), f.InvFreq, FloatRel, "llama3");
        RopeReference.AssertWithinUlps(RopeReference.TorchLlama3(theta, headDim, factor, low, high, orig), f.InvFreq, 1, "llama3 vs torch");
    }

    [Fact]
    public void Llama3_without_low_freq_factor_is_a_config_error()
    {
        var ex = Assert.Throws<ConfigException>(() => RopeFrequencies.Compute(Llama31 with { LowFreqFactor = null }, 128, 131072));
        Assert.Contains("low_freq_factor", ex.Message);
    }

    private static RopeParameters Phi3Like(int dim)
    {
        var shortF = Enumerable.Range(0, dim / 2).Select(i => 1.0 + 0.01 * i).ToArray();
        var longF = Enumerable.Range(0, dim / 2).Select(i => 1.0 + 0.9 * i).ToArray();
        return new RopeParameters
        {
            RopeType = "longrope", RopeTheta = 10_000, ShortFactor = shortF, LongFactor = longF, OriginalMaxPositionEmbeddings = 4096,
        };
    }

    [Fact]
    public void LongRope_uses_short_factors_up_to_original_max_and_long_beyond()
    {
        var rope = Phi3Like(96);
        foreach (var seq in new int?[] { null, 0, 100, 4096 })
        {
            var s = RopeFrequencies.Compute(rope, 96, 131072, seq);
            RopeReference.AssertRelClose(RopeReference.LongRope(10_000, 96, rope.ShortFactor!), s.InvFreq, FloatRel, $"short@{seq}");
        }
        foreach (var seq in new[] { 4097, 131072 })
        {
            var l = RopeFrequencies.Compute(rope, 96, 131072, seq);
            RopeReference.AssertRelClose(RopeReference.LongRope(10_000, 96, rope.LongFactor!), l.InvFreq, FloatRel, $"long@{seq}");
            RopeReference.AssertWithinUlps(RopeReference.TorchLongRope(10_000, 96, rope.LongFactor!), l.InvFreq, 1, "longrope vs torch");
        }
    }

    [Fact]
    public void LongRope_attention_factor_is_sqrt_of_1_plus_log_ratio()
    {
        // Phi-3-mini-128k: 131072 / 4096 = 32, ln 32 / ln 4096 = 5/12 → sqrt(17/12).
        var rope = Phi3Like(96);
        Assert.Equal(Math.Sqrt(17.0 / 12), RopeFrequencies.Compute(rope, 96, 131072).AttentionScaling, 1e-15);
        Assert.Equal(1.0, RopeFrequencies.Compute(rope, 96, 4096).AttentionScaling);   // factor 1
        Assert.Equal(Math.Sqrt(1 + Math.Log(8) / Math.Log(4096)), RopeFrequencies.Compute(rope with { Factor = 8 }, 96, 131072).AttentionScaling, 1e-15);
        Assert.Equal(1.5, RopeFrequencies.Compute(rope with { AttentionFactor = 1.5 }, 96, 131072).AttentionScaling);
    }

    [Fact]
    public void LongRope_factor_lists_must_have_rotary_dim_over_two_entries()
    {
        var rope = Phi3Like(96) with { ShortFactor = [1.0, 2.0] };
        var ex = Assert.Throws<ConfigException>(() => RopeFrequencies.Compute(rope, 96, 131072));
        Assert.Contains("short_factor", ex.Message);
        Assert.Contains("48", ex.Message);
    }
}
