using LongContext.Core.Attention;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Attention;

public class LseAccumulatorTests
{
    static double RelErr(Tensor a, Tensor b) =>
        (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).norm().item<double>() / b.to(ScalarType.Float64).norm().item<double>();

    [Fact]
    public void Merging_many_bf16_blocks_in_fp32_is_closer_to_one_fp32_pass_than_rounding_at_every_merge()
    {
        // A ring of 32 hops: each block's attention comes back from the kernel in bf16 (its LSE in fp32).
        const int blocks = 32, blockKeys = 16;
        var gen = new Generator(21);
        var q = randn([1, 4, 64, 64], generator: gen);
        var k = randn([1, 4, blocks * blockKeys, 64], generator: gen);
        var v = randn([1, 4, blocks * blockKeys, 64], generator: gen);
        var onePass = MathAttention.Forward(q, k, v, causal: false);                 // one fp32 pass over all keys

        var parts = Enumerable.Range(0, blocks).Select(i =>
        {
            var r = MathAttention.Forward(q, k.narrow(2, i * blockKeys, blockKeys), v.narrow(2, i * blockKeys, blockKeys), causal: false);
            return new AttentionResult(r.Output.to(ScalarType.BFloat16), r.Lse);
        }).ToList();
        // What the merge itself should give: the same bf16 blocks merged without rounding (fp32 throughout), so only merging errors remain.
        var exact = new AttentionResult(parts[0].Output.to(ScalarType.Float32), parts[0].Lse);
        foreach (var p in parts.Skip(1)) exact = LseMerge.Merge(exact, new AttentionResult(p.Output.to(ScalarType.Float32), p.Lse));

        var rounded = parts[0];
        foreach (var p in parts.Skip(1)) rounded = LseMerge.Merge(rounded, p);     // back to bf16 after every hop
        using var accumulator = new LseAccumulator(parts[0]);
        foreach (var p in parts.Skip(1)) accumulator.Add(p);
        var once = accumulator.Result(ScalarType.BFloat16);                          // rounded once, at the end
        Assert.Equal(ScalarType.BFloat16, once.Output.dtype);

        double onceMerge = RelErr(once.Output, exact.Output), roundedMerge = RelErr(rounded.Output, exact.Output);
        Assert.True(onceMerge < 0.35 * roundedMerge, $"merging error: fp32 accumulator {onceMerge:E2}, bf16 at every merge {roundedMerge:E2}");
        Assert.True(onceMerge < 2e-3, $"merging error of the fp32 accumulator {onceMerge:E2}");   // one bf16 rounding (2⁻⁹ relative)
        double onceTotal = RelErr(once.Output, onePass.Output), roundedTotal = RelErr(rounded.Output, onePass.Output);
        Assert.True(onceTotal < 0.5 * roundedTotal, $"against one fp32 pass: fp32 accumulator {onceTotal:E2}, bf16 at every merge {roundedTotal:E2}");
        Assert.True(RelErr(accumulator.Lse, onePass.Lse) < 1e-6);
    }

    [Fact]
    public void The_running_result_is_attention_over_every_block_added_so_far_and_inputs_are_untouched()
    {
        var gen = new Generator(4);
        var q = randn([2, 2, 5, 8], generator: gen);
        var k = randn([2, 2, 18, 8], generator: gen);
        var v = randn([2, 2, 18, 8], generator: gen);
        var first = MathAttention.Forward(q, k.narrow(2, 0, 6), v.narrow(2, 0, 6), causal: false);
        var firstCopy = first.Output.clone();
        using var accumulator = new LseAccumulator(first);
        accumulator.Add(MathAttention.Forward(q, k.narrow(2, 6, 5), v.narrow(2, 6, 5), causal: false));
        var soFar = MathAttention.Forward(q, k.narrow(2, 0, 11), v.narrow(2, 0, 11), causal: false);
        Assert.True(RelErr(accumulator.Output, soFar.Output) < 1e-6);
        accumulator.Add(MathAttention.Forward(q, k.narrow(2, 11, 7), v.narrow(2, 11, 7), causal: false));
        var all = MathAttention.Forward(q, k, v, causal: false);
        var result = accumulator.Result(ScalarType.Float32);
        Assert.True(RelErr(result.Output, all.Output) < 1e-6);
        Assert.True(RelErr(result.Lse, all.Lse) < 1e-6);
        Assert.True(first.Output.eq(firstCopy).all().item<bool>());
    }

    [Fact]
    public void Rows_without_keys_on_one_side_take_the_other_and_rows_without_any_stay_zero()
    {
        var a = new AttentionResult(ones(1, 1, 3, 4), tensor(new float[] { 0.5f, float.NegativeInfinity, float.NegativeInfinity }).reshape(1, 1, 3));
        var b = new AttentionResult(full([1, 1, 3, 4], 2f), tensor(new float[] { float.NegativeInfinity, 1f, float.NegativeInfinity }).reshape(1, 1, 3));
        using var accumulator = new LseAccumulator(a);
        accumulator.Add(b);
        var output = accumulator.Output;
        Assert.True(output[0, 0, 0].allclose(ones(4)));
        Assert.True(output[0, 0, 1].allclose(full(4, 2f)));
        Assert.True(output[0, 0, 2].allclose(zeros(4)));
        Assert.Equal(new[] { 0.5f, 1f, float.NegativeInfinity }, accumulator.Lse.data<float>().ToArray());
    }
}
