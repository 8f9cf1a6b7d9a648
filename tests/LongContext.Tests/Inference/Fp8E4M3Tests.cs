using LongContext.Core.Inference;
using LongContext.Core.Weights;
using static TorchSharp.torch;
using LongContext.Formats.Safetensors;

namespace LongContext.Tests.Inference;

public class Fp8E4M3Tests
{
    static float Reference(int code) =>
        (float)typeof(SafetensorsFile).Assembly.GetType("LongContext.Core.Weights.Float8")!
            .GetMethod("Decode")!.Invoke(null, [(byte)code, SafetensorsDtype.F8_E4M3])!;

    [Fact]
    public void Every_code_decodes_like_the_safetensors_reader_and_encodes_back_to_itself()
    {
        var codes = arange(256, dtype: ScalarType.Int32).to(ScalarType.Byte);
        var values = Fp8E4M3.Decode(codes, ScalarType.Float32);
        var decoded = values.data<float>().ToArray();
        for (int c = 0; c < 256; c++)
        {
            float want = Reference(c);
            if (float.IsNaN(want)) Assert.True(float.IsNaN(decoded[c]), $"code {c}");
            else Assert.Equal(want, decoded[c]);
        }
        var back = Fp8E4M3.Encode(values).data<byte>().ToArray();
        for (int c = 0; c < 256; c++)
        {
            if (float.IsNaN(decoded[c])) Assert.Equal(127, back[c] & 127);
            else if (c == 128) Assert.Equal(0, back[c]);                // −0 encodes as +0
            else Assert.Equal((byte)c, back[c]);
        }
    }

    [Fact]
    public void Encoding_rounds_to_the_nearest_code_with_ties_to_even_and_saturates()
    {
        // 1.0 = 0x38; the next codes are 1.125 and 1.25. 1.0625 is a tie → even mantissa (1.0); 1.1875 → 1.25.
        var x = tensor(new float[] { 1.0625f, 1.1f, 1.1875f, 500f, -500f, 0.001953125f, 0.0009765625f, 240f, 15.9f });
        var got = Fp8E4M3.Decode(Fp8E4M3.Encode(x), ScalarType.Float32).data<float>().ToArray();
        Assert.Equal(new float[] { 1.0f, 1.125f, 1.25f, 448f, -448f, 0.001953125f, 0f, 240f, 16f }, got);
    }

    [Fact]
    public void Random_values_stay_within_half_a_quantum()
    {
        manual_seed(3);
        var x = randn(4096) * 10;
        var y = Fp8E4M3.Decode(Fp8E4M3.Encode(x), ScalarType.Float32);
        // Relative spacing of E4M3 normals is 2^-3: the error is at most half of it (plus subnormal absolute error).
        var bound = x.abs() * (1.0 / 16) + 1.0 / 1024;
        Assert.True(((x - y).abs() <= bound).all().item<bool>());
    }

    [Fact]
    public void Cpu_tensors_use_the_tensor_op_codec()
    {
        // The add-on's ATen casts serve CUDA only (the selftest compares them with these ops on the GPU).
        var x = randn(new long[] { 512 }, generator: new Generator(3)) * 100;
        Assert.False(Fp8E4M3.NativeApplies(x));
        Assert.Equal(Fp8E4M3.EncodeMath(x).data<byte>().ToArray(), Fp8E4M3.Encode(x).data<byte>().ToArray());
        var codes = Fp8E4M3.EncodeMath(x);
        Assert.True(Fp8E4M3.DecodeMath(codes, ScalarType.Float32).equal(Fp8E4M3.Decode(codes, ScalarType.Float32)).all().item<bool>());
    }

    [Fact]
    public void An_fp8_kv_cache_gives_logits_close_to_the_full_precision_cache_but_not_identical()
    {
        var checks = LongContext.Core.Diagnostics.SelfTest.Fp8KvCacheChecks(CPU).ToList();
        Assert.Equal(4, checks.Count);   // prefill logits, argmax, eager decode, device-position decode reading the codes
        Assert.All(checks, c => Assert.True(c.Passed, $"{c.Name}: error {c.Error} > {c.Tolerance}"));
        // The cache really quantises: a check that compared a cache with itself would report 0.
        Assert.True(checks[0].Error > 1e-4, $"prefill logits error {checks[0].Error}: the FP8 cache did not quantise");
    }
}
