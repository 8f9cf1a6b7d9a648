using LongContext.Training.Loss;
using TorchSharp;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TinyTrainingModel;

namespace LongContext.Tests.Training;

public class ChunkedCrossEntropyTests
{
    static (Tensor hidden, Tensor weight, Tensor labels) Inputs(int b, int l, int h, int v, long seed = 3)
    {
        var gen = new Generator((ulong)seed);
        var hidden = randn([b, l, h], generator: gen).requires_grad_(true);
        var weight = randn([v, h], generator: gen).mul_(0.3).requires_grad_(true);
        var labels = randint(0, v, [b, l], generator: gen, dtype: ScalarType.Int64);
        labels[0, TensorIndex.Slice(1, 4)] = tensor(-100L);
        if (b > 1) labels[1, -1] = tensor(-100L);
        return (hidden, weight, labels);
    }

    static Tensor Plain(Tensor hidden, Tensor weight, Tensor labels) =>
        nn.functional.cross_entropy(nn.functional.linear(hidden, weight).@float().reshape(-1, weight.shape[0]), labels.reshape(-1),
            ignore_index: -100, reduction: nn.Reduction.Sum);

    [Theory]
    [InlineData(1)]
    [InlineData(5)]     // chunks do not divide the 26 tokens
    [InlineData(13)]
    [InlineData(1000)]  // one chunk
    public void Sum_and_gradients_match_plain_cross_entropy(int chunk)
    {
        var (hidden, weight, labels) = Inputs(2, 13, 16, 37);
        var expected = Plain(hidden, weight, labels);
        expected.backward();
        var (dh, dw) = (hidden.grad!.clone(), weight.grad!.clone());
        hidden.grad = null;
        weight.grad = null;

        var loss = ChunkedCrossEntropy.Sum(hidden, weight, labels, chunk);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.Equal(0, loss.dim());
        AssertClose(expected, loss, 1e-5, "loss");
        loss.backward();
        AssertClose(dh, hidden.grad!, 1e-5, "d hidden");
        AssertClose(dw, weight.grad!, 1e-5, "d weight");
    }

    [Fact]
    public void Upstream_gradient_scales_the_result()
    {
        var (hidden, weight, labels) = Inputs(2, 9, 8, 11);
        var expected = Plain(hidden, weight, labels) * 0.25;
        expected.backward();
        var (dh, dw) = (hidden.grad!.clone(), weight.grad!.clone());
        hidden.grad = null;
        weight.grad = null;
        (ChunkedCrossEntropy.Sum(hidden, weight, labels, 4) * 0.25).backward();
        AssertClose(dh, hidden.grad!, 1e-6, "d hidden");
        AssertClose(dw, weight.grad!, 1e-6, "d weight");
    }

    [Fact]
    public void A_chunk_whose_labels_are_all_ignored_adds_nothing()
    {
        var (hidden, weight, labels) = Inputs(1, 12, 8, 11);
        labels[0, TensorIndex.Slice(0, 4)] = tensor(-100L);    // the whole first chunk of 4
        var expected = Plain(hidden, weight, labels);
        expected.backward();
        var (dh, dw) = (hidden.grad!.clone(), weight.grad!.clone());
        hidden.grad = null;
        weight.grad = null;

        var loss = ChunkedCrossEntropy.Sum(hidden, weight, labels, 4);
        AssertClose(expected, loss, 1e-5, "loss");
        loss.backward();
        AssertClose(dh, hidden.grad!, 1e-5, "d hidden");
        Assert.Equal(0f, hidden.grad!.narrow(1, 0, 4).abs().max().item<float>());
        AssertClose(dw, weight.grad!, 1e-5, "d weight");
    }

    [Fact]
    public void All_labels_ignored_gives_zero_loss_and_zero_gradients()
    {
        var (hidden, weight, _) = Inputs(2, 5, 8, 11);
        var labels = full([2, 5], -100L, ScalarType.Int64);
        var loss = ChunkedCrossEntropy.Sum(hidden, weight, labels, 3);
        Assert.Equal(0f, loss.item<float>());
        Assert.Equal(0L, ChunkedCrossEntropy.Count(labels));
        Assert.Equal(0f, ChunkedCrossEntropy.Mean(hidden, weight, labels, 3).item<float>());
        loss.backward();
        Assert.Equal(0f, hidden.grad!.abs().max().item<float>());
        Assert.Equal(0f, weight.grad!.abs().max().item<float>());
    }

    [Fact]
    public void Mean_divides_by_the_predicted_token_count()
    {
        var (hidden, weight, labels) = Inputs(2, 13, 16, 37);
        long count = labels.ne(-100).sum().item<long>();
        Assert.Equal(count, ChunkedCrossEntropy.Count(labels));
        var expected = nn.functional.cross_entropy(nn.functional.linear(hidden, weight).reshape(-1, 37), labels.reshape(-1), ignore_index: -100);
        AssertClose(expected, ChunkedCrossEntropy.Mean(hidden, weight, labels, 6), 1e-6, "mean");
    }

    [Fact]
    public void Frozen_weight_gets_no_gradient_and_hidden_still_does()
    {
        var (hidden, weight, labels) = Inputs(2, 7, 8, 11);
        weight.requires_grad_(false);
        var expected = Plain(hidden, weight, labels);
        expected.backward();
        var dh = hidden.grad!.clone();
        hidden.grad = null;
        ChunkedCrossEntropy.Sum(hidden, weight, labels, 3).backward();
        AssertClose(dh, hidden.grad!, 1e-5, "d hidden");
        Assert.Null(weight.grad);
    }

    [Fact]
    public void Tied_weight_accumulates_gradient_from_the_embedding_and_the_head()
    {
        var gen = new Generator(11);
        var weight = randn([23, 8], generator: gen).requires_grad_(true);      // embedding table and LM head
        var ids = randint(0, 23, [2, 6], generator: gen, dtype: ScalarType.Int64);
        var labels = ids.roll(-1, 1).clone();
        labels[TensorIndex.Colon, -1] = tensor(-100L);
        Tensor Hidden() => weight.index_select(0, ids.reshape(-1)).reshape(2, 6, 8).tanh();

        Plain(Hidden(), weight, labels).backward();
        var expected = weight.grad!.clone();
        weight.grad = null;
        ChunkedCrossEntropy.Sum(Hidden(), weight, labels, 5).backward();
        AssertClose(expected, weight.grad!, 1e-5, "tied weight gradient");
    }

    [Fact]
    public void Bf16_weight_matches_plain_bf16_autograd_with_an_fp32_loss()
    {
        var (h32, w32, labels) = Inputs(2, 11, 32, 53);
        var hidden = h32.detach().to(ScalarType.BFloat16).requires_grad_(true);
        var weight = w32.detach().to(ScalarType.BFloat16).requires_grad_(true);
        var expected = Plain(hidden, weight, labels);
        expected.backward();
        var (dh, dw) = (hidden.grad!.@float(), weight.grad!.@float());
        hidden.grad = null;
        weight.grad = null;
        var loss = ChunkedCrossEntropy.Sum(hidden, weight, labels, 4);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        AssertClose(expected, loss, 1e-5, "loss");
        loss.backward();
        Assert.Equal(ScalarType.BFloat16, weight.grad!.dtype);
        AssertClose(dh, hidden.grad!.@float(), 2e-2, "d hidden");
        AssertClose(dw, weight.grad!.@float(), 2e-2, "d weight");
    }

    [Fact]
    public void Rejects_a_weight_of_the_wrong_width()
    {
        var (hidden, _, labels) = Inputs(1, 4, 8, 11);
        Assert.Throws<ArgumentException>(() => ChunkedCrossEntropy.Sum(hidden, zeros(11, 9), labels, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChunkedCrossEntropy.Sum(hidden, zeros(11, 8), labels, 0));
    }
}
