using LongContext.Training.Loop;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Training;

public class GradientClippingTests
{
    [Fact]
    public void Returns_the_global_norm_and_scales_all_gradients_to_max_norm()
    {
        using var a = zeros(2).requires_grad_(true);
        using var b = zeros(1).requires_grad_(true);
        a.grad = tensor(new float[] { 3f, 4f });
        b.grad = tensor(new float[] { 12f });
        double norm = GradientClipping.ClipGlobalNorm([a, b], maxNorm: 1.3);
        Assert.Equal(13.0, norm, 5);
        double scale = 1.3 / (13.0 + 1e-6);
        Assert.Equal([3 * scale, 4 * scale], a.grad!.data<float>().ToArray().Select(x => (double)x), new ToleranceComparer(1e-6));
        Assert.Equal(12 * scale, b.grad!.item<float>(), 5);
        using var after = linalg.vector_norm(cat([a.grad!, b.grad!]));
        Assert.Equal(1.3, after.item<float>(), 4);
    }

    [Fact]
    public void Gradients_under_the_limit_are_left_alone()
    {
        using var a = zeros(2).requires_grad_(true);
        a.grad = tensor(new float[] { 0.3f, 0.4f });
        Assert.Equal(0.5, GradientClipping.ClipGlobalNorm([a], 1.0), 6);
        Assert.Equal([0.3f, 0.4f], a.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Zero_max_norm_only_measures()
    {
        using var a = zeros(2).requires_grad_(true);
        a.grad = tensor(new float[] { 30f, 40f });
        Assert.Equal(50.0, GradientClipping.ClipGlobalNorm([a], 0), 4);
        Assert.Equal([30f, 40f], a.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Bf16_gradients_are_measured_in_fp32()
    {
        // 4096 gradients of 1: the norm is 64. Summing squares in bf16 would stall at 256 (its spacing there is 2).
        using var a = zeros(4096, dtype: ScalarType.BFloat16).requires_grad_(true);
        a.grad = ones(4096, dtype: ScalarType.BFloat16);
        Assert.Equal(64.0, GradientClipping.ClipGlobalNorm([a], 0), 6);
    }

    [Fact]
    public void Parameters_without_gradients_are_skipped()
    {
        using var a = zeros(2).requires_grad_(true);
        using var b = zeros(2).requires_grad_(true);
        a.grad = tensor(new float[] { 6f, 8f });
        Assert.Equal(10.0, GradientClipping.ClipGlobalNorm([a, b], 0), 5);
        Assert.Null(b.grad);
    }

    sealed class ToleranceComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tol;
        public int GetHashCode(double obj) => 0;
    }
}
