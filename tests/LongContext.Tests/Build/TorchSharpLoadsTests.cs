using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Build;

public class TorchSharpLoadsTests
{
    [Fact]
    public void Sdpa_matches_explicit_softmax_attention()
    {
        var g = torch.manual_seed(0);
        var q = randn(1, 2, 8, 16);
        var k = randn(1, 2, 8, 16);
        var v = randn(1, 2, 8, 16);
        var sdpa = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        var scores = matmul(q, k.transpose(-2, -1)) / Math.Sqrt(16);
        var mask = ones(8, 8, dtype: ScalarType.Bool).triu(1);
        var expected = matmul(scores.masked_fill(mask, double.NegativeInfinity).softmax(-1), v);
        Assert.True(allclose(sdpa, expected, rtol: 1e-5, atol: 1e-5));
    }
}
