using LongContext.Core.Model;
using LongContext.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Training;

/// <summary>Tiny fp32 models with every parameter trainable, and plain-autograd references to compare against.</summary>
internal static class TinyTrainingModel
{
    public static LlamaForCausalLM Create(bool tied, int layers = 3, long seed = 1, bool biases = false)
    {
        var config = ModelPresets.Get("tiny") with
        {
            NumHiddenLayers = layers,
            VocabSize = 97,
            TieWordEmbeddings = tied,
            AttentionBias = biases,
        };
        var model = ModelLoader.CreateRandom(config, CPU, ScalarType.Float32, seed, std: 0.1);
        using (no_grad())
        {
            // Non-trivial norm weights and biases so their gradients are checked too.
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith("norm.weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal))
                    p.add_(rand_like(p).sub_(0.5).mul_(0.2));
        }
        foreach (var p in model.parameters()) p.requires_grad = true;
        return model;
    }

    /// <summary>Random ids and shifted labels with some ignored positions, [b, l].</summary>
    public static (Tensor ids, Tensor labels) Batch(LlamaForCausalLM model, int b, int l, long seed = 7)
    {
        var gen = new Generator((ulong)seed);
        var ids = randint(0, model.Config.VocabSize, [b, l], generator: gen, dtype: ScalarType.Int64);
        var labels = ids.roll(-1, 1).clone();
        labels[TensorIndex.Colon, -1] = tensor(-100L);
        labels[0, TensorIndex.Slice(2, 5)] = tensor(-100L);
        return (ids, labels);
    }

    /// <summary>Position ids that restart at 0 at the given document starts (same for every row).</summary>
    public static Tensor DocumentPositions(int b, int l, params int[] starts)
    {
        var pos = new long[l];
        for (int i = 0, s = 0; i < l; i++)
        {
            if (s + 1 < starts.Length && i == starts[s + 1]) s++;
            pos[i] = i - starts[s];
        }
        return tensor(pos).unsqueeze(0).expand(b, l).contiguous();
    }

    /// <summary>Plain autograd: full fp32 logits, then cross_entropy(reduction: sum).</summary>
    public static Tensor PlainLoss(LlamaForCausalLM model, Tensor hidden, Tensor labels) =>
        nn.functional.cross_entropy(model.Logits(hidden).reshape(-1, model.Config.VocabSize), labels.reshape(-1),
            ignore_index: -100, reduction: nn.Reduction.Sum);

    /// <summary>Gradients of every parameter after one backward, by name (copies), then zeroes them.</summary>
    public static Dictionary<string, Tensor> TakeGradients(LlamaForCausalLM model)
    {
        var grads = new Dictionary<string, Tensor>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.grad is { } g) grads[name] = g.clone();
            p.grad = null;
        }
        return grads;
    }

    public static void AssertClose(Tensor expected, Tensor actual, double tol, string what)
    {
        double scale = Math.Max(1e-30, expected.abs().max().item<float>());
        double err = (expected - actual).abs().max().item<float>();
        Assert.True(err <= tol * Math.Max(1.0, scale), $"{what}: max abs error {err:E2} (scale {scale:E2}, tol {tol:E1})");
    }

    public static void AssertSameGradients(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual, double tol)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, g) in expected) AssertClose(g, actual[name], tol, name);
    }
}
