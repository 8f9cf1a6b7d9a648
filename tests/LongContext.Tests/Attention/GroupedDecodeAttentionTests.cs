using LongContext.Core.Attention;
using static TorchSharp.torch;

namespace LongContext.Tests.Attention;

public class GroupedDecodeAttentionTests
{
    /// <summary>Reference: the first <paramref name="valid"/> keys only, K/V repeated per query head, plain softmax.</summary>
    static Tensor Reference(Tensor q, Tensor k, Tensor v, int valid, double scale)
    {
        long groups = q.shape[1] / k.shape[1];
        var kr = k.narrow(2, 0, valid).repeat_interleave(groups, dim: 1);
        var vr = v.narrow(2, 0, valid).repeat_interleave(groups, dim: 1);
        return matmul((matmul(q, kr.transpose(2, 3)) * scale).softmax(-1), vr);
    }

    [Theory]
    [InlineData(300, 120)]      // one block: a single matmul
    [InlineData(2500, 2400)]    // a long window, most slots valid
    [InlineData(4096, 1)]       // only the first slot is valid (split into 4 blocks)
    [InlineData(3072, 3000)]    // the split probs·V path: 3 blocks of 1024
    public void Masked_window_equals_attention_over_the_valid_prefix(int window, int valid)
    {
        var gen = manual_seed(7);
        var q = randn(1, 8, 1, 16);
        var k = randn(1, 2, window, 16);
        var v = randn(1, 2, window, 16);
        // Slots after the position hold stale values; the mask must remove them completely.
        k.narrow(2, valid, window - valid).mul_(50);
        var attention = new GroupedDecodeAttention
        {
            Mask = zeros(window).masked_fill(arange(window) >= valid, double.NegativeInfinity),
        };
        var got = attention.Attend(q, k, v, causal: true, scale: 0.25);
        var expected = Reference(q, k, v, valid, 0.25);
        Assert.Equal(new long[] { 1, 8, 1, 16 }, got.shape);
        double err = (got - expected).abs().max().item<float>();
        Assert.True(err < 1e-5, $"max abs error {err:E2}");
    }

    [Fact]
    public void Fp8_codes_attend_like_their_decoded_values_when_the_kernel_does_not_apply()
    {
        var gen = new Generator(11);
        var q = randn(new long[] { 1, 8, 1, 64 }, generator: gen);
        var kCodes = LongContext.Core.Inference.Fp8E4M3.Encode(randn(new long[] { 1, 2, 3000, 64 }, generator: gen));
        var vCodes = LongContext.Core.Inference.Fp8E4M3.Encode(randn(new long[] { 1, 2, 3000, 64 }, generator: gen));
        var (k, v) = (kCodes.narrow(2, 0, 2100), vCodes.narrow(2, 0, 2100));   // a window of a longer cache, as in decode
        var mask = zeros(2100).masked_fill(arange(2100) >= 2050, double.NegativeInfinity);
        var attention = new GroupedDecodeAttention { Mask = mask };

        Assert.False(GroupedDecodeAttention.NativeKernelApplies(q, k, v, mask));   // CPU
        var got = attention.Attend(q, k, v, causal: false, scale: 0.125);
        var decoded = attention.Attend(q, LongContext.Core.Inference.Fp8E4M3.Decode(k, ScalarType.Float32),
            LongContext.Core.Inference.Fp8E4M3.Decode(v, ScalarType.Float32), causal: false, scale: 0.125);

        Assert.Equal(ScalarType.Float32, got.dtype);
        Assert.True(got.equal(decoded).all().item<bool>());
        var reference = Reference(q, LongContext.Core.Inference.Fp8E4M3.Decode(k, ScalarType.Float32),
            LongContext.Core.Inference.Fp8E4M3.Decode(v, ScalarType.Float32), 2050, 0.125);
        Assert.True((got - reference).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Missing_mask_is_an_error() =>
        Assert.Throws<InvalidOperationException>(() => new GroupedDecodeAttention().Attend(randn(1, 2, 1, 4), randn(1, 1, 3, 4), randn(1, 1, 3, 4), true, 0.5));

    [Fact]
    public void Split_kv_kernel_applies_only_on_cuda_with_supported_shapes()
    {
        // The kernel itself runs on the GPU box (selftest decode-kernel checks); off CUDA the matmul path must be taken.
        var q = randn(1, 32, 1, 128, dtype: ScalarType.BFloat16);
        var k = randn(1, 8, 64, 128, dtype: ScalarType.BFloat16);
        var mask = zeros(64);
        Assert.False(GroupedDecodeAttention.NativeKernelApplies(q, k, k, mask));
        var attention = new GroupedDecodeAttention { Mask = mask };
        var got = attention.Attend(q.to(ScalarType.Float32), k.to(ScalarType.Float32), k.to(ScalarType.Float32), false, 1 / Math.Sqrt(128));
        Assert.Equal(new long[] { 1, 32, 1, 128 }, got.shape);
    }
}
