using LongContext.Core.Rope;
using LongContext.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Rope;

public class RotaryEmbeddingTests
{
    private static ModelConfig Config(RopeParameters rope, int headDim = 64, int maxPositions = 2048) => new()
    {
        ModelType = "llama", VocabSize = 64, HiddenSize = headDim * 2, IntermediateSize = 256, NumHiddenLayers = 1,
        NumAttentionHeads = 2, NumKeyValueHeads = 2, HeadDim = headDim, MaxPositionEmbeddings = maxPositions, Rope = rope,
    };

    private static Tensor Positions(params long[][] rows) =>
        torch.tensor(rows.SelectMany(r => r).ToArray(), dtype: ScalarType.Int64).reshape(rows.Length, rows[0].Length);

    /// <summary>HF LlamaRotaryEmbedding.forward written out with torch ops, for bitwise comparison.</summary>
    private static (Tensor Cos, Tensor Sin) HfForward(RopeFrequencies f, Tensor positionIds, ScalarType dtype)
    {
        var inv = torch.tensor(f.InvFreq, dtype: ScalarType.Float32);
        var freqs = positionIds.to_type(ScalarType.Float32).unsqueeze(-1) * inv;
        var emb = torch.cat([freqs, freqs], -1);
        return ((emb.cos() * f.AttentionScaling).to_type(dtype), (emb.sin() * f.AttentionScaling).to_type(dtype));
    }

    private static bool BitEqual(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void Cos_and_sin_are_cos_of_position_times_inv_freq_duplicated_over_halves()
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(Config(new RopeParameters { RopeTheta = 10_000 }));
        var pos = Positions([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
        var (cos, sin) = rope.Forward(pos, ScalarType.Float32, CPU);
        Assert.Equal(new long[] { 2, 10, 64 }, cos.shape);
        var reference = RopeReference.Default(10_000, 64);
        var c = cos.data<float>().ToArray();
        var s = sin.data<float>().ToArray();
        for (var b = 0; b < 2; b++)
            for (var l = 0; l < 10; l++)
                for (var i = 0; i < 64; i++)
                {
                    var p = b * 100 + l;
                    var angle = p * reference[i % 32];
                    var at = (b * 10 + l) * 64 + i;
                    Assert.Equal(Math.Cos(angle), c[at], 5e-5);
                    Assert.Equal(Math.Sin(angle), s[at], 5e-5);
                }
    }

    [Fact]
    public void Table_lookup_is_bitwise_equal_to_hf_forward_and_grows_in_chunks()
    {
        using var scope = NewDisposeScope();
        var rp = new RopeParameters { RopeType = "llama3", RopeTheta = 500_000, Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 256 };
        using var rope = new RotaryEmbedding(Config(rp));
        Assert.Equal(0, rope.CachedPositions);

        var small = Positions([0, 1, 2, 3], [7, 8, 9, 10]);
        var (c1, s1) = rope.Forward(small, ScalarType.Float32, CPU);
        Assert.Equal(RotaryEmbedding.TableChunk, rope.CachedPositions);
        var (hc1, hs1) = HfForward(rope.Frequencies, small, ScalarType.Float32);
        Assert.True(BitEqual(c1, hc1));
        Assert.True(BitEqual(s1, hs1));

        var far = Positions([4094, 4095, 4096, 5000]);
        var (c2, s2) = rope.Forward(far, ScalarType.Float32, CPU);
        Assert.Equal(2 * RotaryEmbedding.TableChunk, rope.CachedPositions);
        var (hc2, hs2) = HfForward(rope.Frequencies, far, ScalarType.Float32);
        Assert.True(BitEqual(c2, hc2));
        Assert.True(BitEqual(s2, hs2));

        // seqLen hint: no growth beyond what positions need
        rope.Forward(Positions([8000]), ScalarType.Float32, CPU, seqLen: 8001);
        Assert.Equal(2 * RotaryEmbedding.TableChunk, rope.CachedPositions);
    }

    [Fact]
    public void Bfloat16_output_is_the_float32_result_cast_and_scaled_by_attention_factor()
    {
        using var scope = NewDisposeScope();
        var rp = new RopeParameters { RopeType = "yarn", RopeTheta = 10_000, Factor = 4, OriginalMaxPositionEmbeddings = 512 };
        using var rope = new RotaryEmbedding(Config(rp, 64, 2048));
        var pos = Positions([0, 3, 600, 2047]);
        var (cos, sin) = rope.Forward(pos, ScalarType.BFloat16, CPU);
        Assert.Equal(ScalarType.BFloat16, cos.dtype);
        var (hc, hs) = HfForward(rope.Frequencies, pos, ScalarType.BFloat16);
        Assert.True(BitEqual(cos, hc));
        Assert.True(BitEqual(sin, hs));
        var atZero = cos[0, 0, 0].to_type(ScalarType.Float32).item<float>();
        Assert.Equal((float)(0.1 * Math.Log(4) + 1), atZero, 1e-2);   // bf16 of 1.1386
        Assert.NotEqual(1f, atZero);
    }

    [Fact]
    public void Cached_tables_survive_the_callers_dispose_scope()
    {
        using var rope = new RotaryEmbedding(Config(new RopeParameters()));
        float first;
        using (var scope = NewDisposeScope())
        {
            var (cos, _) = rope.Forward(Positions([5]), ScalarType.Float32, CPU);
            first = cos[0, 0, 1].item<float>();
        }
        using (var scope = NewDisposeScope())
        {
            var (cos, _) = rope.Forward(Positions([5]), ScalarType.Float32, CPU);
            Assert.Equal(first, cos[0, 0, 1].item<float>());
        }
    }

    [Fact]
    public void ApplyRotary_equals_complex_rotation_of_each_half_pair()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(1);
        using var rope = new RotaryEmbedding(Config(new RopeParameters { RopeTheta = 10_000 }, headDim: 8));
        var pos = Positions([0, 1, 5, 17, 300]);
        var (cos, sin) = rope.Forward(pos, ScalarType.Float32, CPU);
        var x = torch.randn(1, 2, 5, 8);
        var y = RotaryEmbedding.ApplyRotary(x, cos, sin);
        var inv = RopeReference.Default(10_000, 8);
        var xs = x.data<float>().ToArray();
        var ys = y.data<float>().ToArray();
        long[] positions = [0, 1, 5, 17, 300];
        for (var h = 0; h < 2; h++)
            for (var l = 0; l < 5; l++)
                for (var i = 0; i < 4; i++)
                {
                    var row = (h * 5 + l) * 8;
                    // pair (i, i + 4) as the complex number a + ib, rotated by e^{i·pos·inv_i}
                    var z = new System.Numerics.Complex(xs[row + i], xs[row + i + 4]) *
                            System.Numerics.Complex.FromPolarCoordinates(1, positions[l] * inv[i]);
                    Assert.Equal(z.Real, ys[row + i], 1e-4);
                    Assert.Equal(z.Imaginary, ys[row + i + 4], 1e-4);
                }
    }

    [Fact]
    public void ApplyRotary_preserves_vector_norms()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(2);
        using var rope = new RotaryEmbedding(Config(new RopeParameters { RopeTheta = 500_000 }));
        var pos = torch.arange(0, 64, dtype: ScalarType.Int64).reshape(1, 64) * 97;
        var (cos, sin) = rope.Forward(pos, ScalarType.Float32, CPU);
        var x = torch.randn(1, 4, 64, 64);
        var y = RotaryEmbedding.ApplyRotary(x, cos, sin);
        Assert.False(y.allclose(x));
        Assert.True(y.norm(-1).allclose(x.norm(-1), rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Query_key_scores_depend_only_on_relative_position()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        using var rope = new RotaryEmbedding(Config(new RopeParameters { RopeTheta = 10_000 }));
        var q = torch.randn(1, 1, 1, 64, dtype: ScalarType.Float64);
        var k = torch.randn(1, 1, 1, 64, dtype: ScalarType.Float64);
        double Score(long m, long n)
        {
            var (cq, sq) = rope.Forward(Positions([m]), ScalarType.Float64, CPU);
            var (ck, sk) = rope.Forward(Positions([n]), ScalarType.Float64, CPU);
            var qm = RotaryEmbedding.ApplyRotary(q, cq, sq);
            var kn = RotaryEmbedding.ApplyRotary(k, ck, sk);
            return (qm * kn).sum().item<double>();
        }
        var s = Score(7, 3);
        Assert.Equal(s, Score(107, 103), 1e-4);
        Assert.Equal(s, Score(1004, 1000), 1e-3);
        Assert.Equal(Score(3, 7), Score(503, 507), 1e-3);
        Assert.NotEqual(s, Score(8, 3), 3);   // a different distance gives a different score
    }

    [Fact]
    public void Partial_rotary_rotates_the_first_channels_and_passes_the_rest()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(4);
        using var rope = new RotaryEmbedding(Config(new RopeParameters { RopeType = "yarn", Factor = 1, RopeTheta = 10_000, PartialRotaryFactor = 0.5 }, headDim: 16));
        Assert.Equal(8, rope.RotaryDim);
        var (cos, sin) = rope.Forward(Positions([3, 9, 40]), ScalarType.Float32, CPU);
        Assert.Equal(8, cos.shape[^1]);
        var x = torch.randn(2, 3, 3, 16);
        var y = RotaryEmbedding.ApplyRotary(x, cos.expand(2, -1, -1), sin.expand(2, -1, -1));
        Assert.True(BitEqual(y.narrow(-1, 8, 8), x.narrow(-1, 8, 8)));
        var rotatedAlone = RotaryEmbedding.ApplyRotary(x.narrow(-1, 0, 8).contiguous(), cos.expand(2, -1, -1), sin.expand(2, -1, -1));
        Assert.True(BitEqual(y.narrow(-1, 0, 8), rotatedAlone));
        Assert.False(rotatedAlone.allclose(x.narrow(-1, 0, 8)));
    }

    [Fact]
    public void ApplyRotary_accepts_position_tables_shared_across_the_batch()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        using var rope = new RotaryEmbedding(Config(new RopeParameters()));
        var (cos, sin) = rope.Forward(Positions([0, 1, 2, 3]), ScalarType.Float32, CPU);
        var x = torch.randn(3, 2, 4, 64);
        var batched = RotaryEmbedding.ApplyRotary(x, cos.expand(3, -1, -1), sin.expand(3, -1, -1));
        var shared = RotaryEmbedding.ApplyRotary(x, cos[0], sin[0]);
        Assert.True(BitEqual(batched, shared));
        Assert.Throws<ArgumentException>(() => RotaryEmbedding.ApplyRotary(x, cos.narrow(-1, 0, 3), sin.narrow(-1, 0, 3)));
    }

    [Fact]
    public void Dynamic_grows_keeps_and_resets_like_hf_dynamic_rope_update()
    {
        var rp = new RopeParameters { RopeType = "dynamic", RopeTheta = 10_000, Factor = 2 };
        using var rope = new RotaryEmbedding(Config(rp, 64, 1024));
        var original = rope.Frequencies.InvFreq;
        Assert.Equal(RopeFrequencies.Compute(new RopeParameters { RopeTheta = 10_000 }, 64, 1024).InvFreq, original);

        rope.UpdateForSequenceLength(1024);                       // not beyond max: unchanged
        Assert.Same(original, rope.Frequencies.InvFreq);
        Assert.Equal(1024, rope.MaxSeqLenCached);

        rope.UpdateForSequenceLength(3000);                       // growth
        Assert.Equal(3000, rope.MaxSeqLenCached);
        var grown = rope.Frequencies.InvFreq;
        RopeReference.AssertRelClose(RopeReference.Dynamic(10_000, 64, 2, 1024, 3000), grown, 4e-6, "grown");
        Assert.True(grown[^1] < original[^1]);

        rope.UpdateForSequenceLength(2000);                       // shorter but above max: HF keeps the 3000 frequencies
        Assert.Same(grown, rope.Frequencies.InvFreq);
        Assert.Equal(3000, rope.MaxSeqLenCached);

        rope.UpdateForSequenceLength(1024);                       // equal to max: no reset (HF uses <)
        Assert.Same(grown, rope.Frequencies.InvFreq);

        rope.UpdateForSequenceLength(1023);                       // below max after growth: reset
        Assert.Equal(original, rope.Frequencies.InvFreq);
        Assert.Equal(1024, rope.MaxSeqLenCached);
    }

    [Fact]
    public void Dynamic_forward_beyond_max_uses_the_grown_frequencies_for_all_positions()
    {
        using var scope = NewDisposeScope();
        var rp = new RopeParameters { RopeType = "dynamic", RopeTheta = 10_000, Factor = 4 };
        using var rope = new RotaryEmbedding(Config(rp, 32, 256));
        var pos = Positions([0, 10, 300, 511]);
        var (cos, sin) = rope.Forward(pos, ScalarType.Float32, CPU);
        Assert.Equal(512, rope.MaxSeqLenCached);
        var expected = DynamicNtkRope.ComputeForTensorSeqLen(rp, 32, 256, 512);
        Assert.Equal(expected.InvFreq, rope.Frequencies.InvFreq);
        var (hc, hs) = HfForward(expected, pos, ScalarType.Float32);
        Assert.True(BitEqual(cos, hc));
        Assert.True(BitEqual(sin, hs));

        var (c2, _) = rope.Forward(Positions([0, 1, 2]), ScalarType.Float32, CPU);   // back below max: original
        var (hc2, _) = HfForward(RopeFrequencies.Compute(rp, 32, 256), Positions([0, 1, 2]), ScalarType.Float32);
        Assert.True(BitEqual(c2, hc2));
    }

    [Fact]
    public void LongRope_switches_to_long_factors_past_original_max_and_back()
    {
        using var scope = NewDisposeScope();
        var rp = new RopeParameters
        {
            RopeType = "longrope", RopeTheta = 10_000, OriginalMaxPositionEmbeddings = 64,
            ShortFactor = Enumerable.Repeat(1.0, 16).ToArray(), LongFactor = Enumerable.Range(1, 16).Select(i => (double)i).ToArray(),
        };
        using var rope = new RotaryEmbedding(Config(rp, 32, 1024));
        var shortF = RopeFrequencies.Compute(rp, 32, 1024);
        var longF = RopeFrequencies.Compute(rp, 32, 1024, 65);
        Assert.Equal(shortF.InvFreq, rope.Frequencies.InvFreq);

        var (c, _) = rope.Forward(Positions([0, 64]), ScalarType.Float32, CPU);   // seq_len 65 > 64
        Assert.True(rope.UsingLongFactor);
        Assert.Equal(longF.InvFreq, rope.Frequencies.InvFreq);
        Assert.Equal(shortF.AttentionScaling, rope.AttentionScaling);
        Assert.True(BitEqual(c, HfForward(rope.Frequencies, Positions([0, 64]), ScalarType.Float32).Cos));

        rope.Forward(Positions([0, 63]), ScalarType.Float32, CPU);                  // seq_len 64: short again
        Assert.False(rope.UsingLongFactor);
        Assert.Equal(shortF.InvFreq, rope.Frequencies.InvFreq);
    }
}
