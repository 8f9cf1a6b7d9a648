using LongContext.Core.Attention;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Attention;

public class AttentionFallbackTests
{
    // Explicit softmax attention in float64 with K/V repeated per query-head group and a bottom-right causal mask.
    static (Tensor output, Tensor lse) Reference(Tensor q, Tensor k, Tensor v, bool causal)
    {
        long g = q.shape[1] / k.shape[1], l = q.shape[2], s = k.shape[2];
        var kr = k.to(ScalarType.Float64).repeat_interleave(g, dim: 1);
        var vr = v.to(ScalarType.Float64).repeat_interleave(g, dim: 1);
        var scores = matmul(q.to(ScalarType.Float64), kr.transpose(-2, -1)) / Math.Sqrt(q.shape[3]);
        if (causal)
        {
            var mask = arange(s).unsqueeze(0) > (arange(l).unsqueeze(1) + (s - l));
            scores = scores.masked_fill(mask, double.NegativeInfinity);
        }
        return (matmul(scores.softmax(-1), vr), scores.logsumexp(-1));
    }

    static double RelErr(Tensor a, Tensor b) =>
        (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).norm().item<double>() / b.to(ScalarType.Float64).norm().item<double>();

    [Theory]
    [InlineData(4, 1, 13, 13, 5)]   // three query blocks (5, 5, 3), GQA
    [InlineData(2, 2, 12, 30, 4)]   // a chunk of queries at the end of the keys, three blocks
    [InlineData(2, 1, 10, 10, 10)]  // fits one block: one causal call
    public void Causal_attention_in_query_blocks_equals_one_causal_pass(int hq, int hkv, int l, int s, int maxBlock)
    {
        torch.manual_seed(3);
        // q/k/v in [B, L, H, D] memory viewed as [B, H, L, D], as the model hands them over.
        var q = randn(2, l, hq, 8).transpose(1, 2);
        var k = randn(2, s, hkv, 8).transpose(1, 2);
        var v = randn(2, s, hkv, 8).transpose(1, 2);
        var calls = new List<(long queries, long keys, bool causal)>();
        var result = FusedAttention.CausalInBlocks(q, k, v, maxBlock, (bq, bk, bv, causal) =>
        {
            calls.Add((bq.shape[2], bk.shape[2], causal));
            return MathAttention.Forward(bq, bk, bv, causal);
        });
        var (expected, lse) = Reference(q, k, v, causal: true);
        Assert.True(RelErr(result.Output, expected) < 1e-5, $"output rel err {RelErr(result.Output, expected)}");
        Assert.True(RelErr(result.Lse, lse) < 1e-5, $"lse rel err {RelErr(result.Lse, lse)}");
        Assert.All(calls, c => Assert.True(c.queries <= maxBlock && (c.causal ? c.keys == c.queries : c.keys > 0)));
        long causalQueries = calls.Where(c => c.causal).Sum(c => c.queries);
        Assert.Equal(l, causalQueries);   // every query's diagonal once, no more
        if (l > maxBlock)   // the merged output keeps [B, L, H, D] memory: heads merge without a copy
            Assert.Equal(hq * 8L, result.Output.stride(2));
    }

    [Theory]
    [InlineData(4, 4, 16, 16, true)]
    [InlineData(4, 1, 16, 16, true)]   // GQA, 4 query heads per KV head
    [InlineData(4, 2, 16, 16, false)]
    [InlineData(4, 2, 5, 21, true)]    // a chunk of queries at the end of the keys
    [InlineData(2, 2, 1, 9, false)]    // one decode step
    public void Math_attention_matches_explicit_softmax_with_lse(int hq, int hkv, int l, int s, bool causal)
    {
        torch.manual_seed(1);
        var q = randn(2, hq, l, 8);
        var k = randn(2, hkv, s, 8);
        var v = randn(2, hkv, s, 8);
        var result = MathAttention.Forward(q, k, v, causal);
        var (expected, lse) = Reference(q, k, v, causal);
        Assert.True(RelErr(result.Output, expected) < 1e-5, $"output rel err {RelErr(result.Output, expected)}");
        Assert.True(RelErr(result.Lse, lse) < 1e-6);
        Assert.Equal(new long[] { 2, hq, l }, result.Lse.shape);
    }

    [Fact]
    public void Math_attention_matches_sdpa()
    {
        torch.manual_seed(2);
        var q = randn(1, 4, 32, 16);
        var k = randn(1, 4, 32, 16);
        var v = randn(1, 4, 32, 16);
        var sdpa = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        Assert.True(RelErr(MathAttention.Forward(q, k, v, causal: true).Output, sdpa) < 1e-5);
    }

    [Fact]
    public void Sdpa_backend_handles_gqa_and_chunked_causal()
    {
        torch.manual_seed(3);
        var q = randn(1, 4, 3, 8);
        var k = randn(1, 2, 10, 8);
        var v = randn(1, 2, 10, 8);
        var got = new SdpaAttentionBackend().Attend(q, k, v, causal: true, scale: 1 / Math.Sqrt(8));
        Assert.True(RelErr(got, Reference(q, k, v, true).output) < 1e-5);
    }

    [Fact]
    public void Query_blocking_gives_the_same_result_as_one_block()
    {
        torch.manual_seed(4);
        var q = randn(1, 4, 40, 8);
        var k = randn(1, 2, 40, 8);
        var v = randn(1, 2, 40, 8);
        var dout = randn(1, 4, 40, 8);
        var whole = MathAttention.Forward(q, k, v, true);
        var gradsWhole = MathAttention.Backward(dout, q, k, v, whole.Output, whole.Lse, true);
        long saved = MathAttention.BlockElements;
        try
        {
            MathAttention.BlockElements = 4 * 40 * 3; // 3 query rows per block
            var blocked = MathAttention.Forward(q, k, v, true);
            var gradsBlocked = MathAttention.Backward(dout, q, k, v, blocked.Output, blocked.Lse, true);
            Assert.True(RelErr(blocked.Output, whole.Output) < 1e-6);
            Assert.True(RelErr(gradsBlocked.dk, gradsWhole.dk) < 1e-5);
        }
        finally { MathAttention.BlockElements = saved; }
    }

    [Theory]
    [InlineData(4, 2, 12, 12, true)]
    [InlineData(4, 4, 7, 7, false)]
    [InlineData(4, 1, 4, 11, true)]
    public void Math_backward_matches_autograd(int hq, int hkv, int l, int s, bool causal)
    {
        torch.manual_seed(5);
        var q = randn(2, hq, l, 8, dtype: ScalarType.Float64).requires_grad_();
        var k = randn(2, hkv, s, 8, dtype: ScalarType.Float64).requires_grad_();
        var v = randn(2, hkv, s, 8, dtype: ScalarType.Float64).requires_grad_();
        var dout = randn(2, hq, l, 8, dtype: ScalarType.Float64);
        var (expected, _) = Reference(q, k, v, causal);
        expected.backward([dout]);

        var fwd = MathAttention.Forward(q.detach(), k.detach(), v.detach(), causal);
        var (dq, dk, dv) = MathAttention.Backward(dout, q.detach(), k.detach(), v.detach(), fwd.Output, fwd.Lse, causal);
        Assert.True(RelErr(dq, q.grad!) < 1e-5, $"dq {RelErr(dq, q.grad!)}");
        Assert.True(RelErr(dk, k.grad!) < 1e-5, $"dk {RelErr(dk, k.grad!)}");
        Assert.True(RelErr(dv, v.grad!) < 1e-5, $"dv {RelErr(dv, v.grad!)}");
    }

    [Fact]
    public void Attention_function_gradients_flow_through_autograd()
    {
        torch.manual_seed(6);
        var q = randn(1, 4, 6, 8).requires_grad_();
        var k = randn(1, 2, 6, 8).requires_grad_();
        var v = randn(1, 2, 6, 8).requires_grad_();
        var output = new FusedAttentionBackend().Attend(q, k, v, causal: true, scale: 1 / Math.Sqrt(8));
        (output * output).sum().backward();

        var q2 = q.detach().clone().requires_grad_();
        var k2 = k.detach().clone().requires_grad_();
        var v2 = v.detach().clone().requires_grad_();
        var (expected, _) = Reference(q2, k2, v2, true);
        (expected * expected).sum().backward();
        Assert.True(RelErr(q.grad!, q2.grad!) < 1e-4);
        Assert.True(RelErr(k.grad!, k2.grad!) < 1e-4);
        Assert.True(RelErr(v.grad!, v2.grad!) < 1e-4);
    }

    [Fact]
    public void Merging_results_over_key_blocks_equals_attention_over_all_keys()
    {
        torch.manual_seed(7);
        var q = randn(1, 2, 5, 8);
        var k = randn(1, 2, 20, 8);
        var v = randn(1, 2, 20, 8);
        var full = MathAttention.Forward(q, k, v, causal: false);
        var a = MathAttention.Forward(q, k.narrow(2, 0, 7), v.narrow(2, 0, 7), causal: false);
        var b = MathAttention.Forward(q, k.narrow(2, 7, 13), v.narrow(2, 7, 13), causal: false);
        var merged = LseMerge.Merge(a, b);
        Assert.True(RelErr(merged.Output, full.Output) < 1e-6);
        Assert.True(RelErr(merged.Lse, full.Lse) < 1e-6);
    }

    [Fact]
    public void Merge_with_an_empty_block_keeps_the_other_side()
    {
        var a = new AttentionResult(ones(1, 1, 2, 4), tensor(new float[] { 0.5f, 1f }).reshape(1, 1, 2));
        var empty = new AttentionResult(zeros(1, 1, 2, 4), full(new long[] { 1, 1, 2 }, float.NegativeInfinity));
        var merged = LseMerge.Merge(a, empty);
        Assert.True(allclose(merged.Output, a.Output));
        Assert.True(allclose(merged.Lse, a.Lse));
    }
}
