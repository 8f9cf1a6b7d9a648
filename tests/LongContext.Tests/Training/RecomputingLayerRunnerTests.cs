using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.ActivationCheckpointing;
using LongContext.Training.Loss;
using TorchSharp;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TinyTrainingModel;

namespace LongContext.Tests.Training;

public class RecomputingLayerRunnerTests
{
    static (Tensor loss, Dictionary<string, Tensor> grads) LossAndGradients(LlamaForCausalLM model, Tensor ids, Tensor labels,
        IAttentionBackend backend, IDecoderLayerRunner? runner, Tensor? positions = null, int? lossChunk = null)
    {
        var hidden = model.Forward(ids, new ForwardContext(backend) { PositionIds = positions }, layerRunner: runner);
        var loss = lossChunk is int chunk
            ? ChunkedCrossEntropy.Sum(hidden, model.LmHeadWeight, labels, chunk)
            : PlainLoss(model, hidden, labels);
        loss.backward();
        return (loss.detach(), TakeGradients(model));
    }

    public static IEnumerable<object[]> Cases() =>
        from tied in new[] { false, true }
        from backend in new[] { "sdpa", "fused" }
        from offload in new[] { false, true }
        select new object[] { tied, backend, offload };

    static IAttentionBackend Backend(string name) => name == "sdpa" ? new SdpaAttentionBackend() : new FusedAttentionBackend();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Loss_and_every_parameter_gradient_equal_those_without_checkpointing(bool tied, string backend, bool offload)
    {
        using var scope = NewDisposeScope();
        var model = Create(tied, biases: tied);
        var (ids, labels) = Batch(model, 2, 11);
        var (expectedLoss, expected) = LossAndGradients(model, ids, labels, Backend(backend), null);
        var (loss, actual) = LossAndGradients(model, ids, labels, Backend(backend), new RecomputingLayerRunner(offload));
        AssertClose(expectedLoss, loss, 1e-6, "loss");
        Assert.Equal(model.parameters().Count(), expected.Count);
        AssertSameGradients(expected, actual, 5e-6);
    }

    [Fact]
    public void Position_ids_restarting_per_document_give_the_same_gradients()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: false);
        var (ids, labels) = Batch(model, 2, 14);
        var positions = DocumentPositions(2, 14, 0, 5, 9);
        Assert.Equal(0L, positions[0, 9].item<long>());
        var (expectedLoss, expected) = LossAndGradients(model, ids, labels, new SdpaAttentionBackend(), null, positions);
        var (loss, actual) = LossAndGradients(model, ids, labels, new SdpaAttentionBackend(), new RecomputingLayerRunner(), positions);
        AssertClose(expectedLoss, loss, 1e-6, "loss");
        AssertSameGradients(expected, actual, 5e-6);
        // The positions matter: default positions give another loss.
        var (otherLoss, _) = LossAndGradients(model, ids, labels, new SdpaAttentionBackend(), null);
        Assert.True((otherLoss - loss).abs().item<float>() > 1e-4, "restarting positions did not change the loss");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Checkpointed_layers_with_the_chunked_loss_match_plain_autograd(bool tied)
    {
        using var scope = NewDisposeScope();
        var model = Create(tied);
        var (ids, labels) = Batch(model, 2, 13);
        var positions = DocumentPositions(2, 13, 0, 6);
        var (expectedLoss, expected) = LossAndGradients(model, ids, labels, new SdpaAttentionBackend(), null, positions);
        var (loss, actual) = LossAndGradients(model, ids, labels, new FusedAttentionBackend(), new RecomputingLayerRunner(), positions, lossChunk: 5);
        AssertClose(expectedLoss, loss, 1e-5, "loss");
        AssertSameGradients(expected, actual, 1e-5);
    }

    [Fact]
    public void Frozen_model_with_a_trainable_middle_layer_still_gets_its_gradients()
    {
        // The first layer's input (the embedding output) needs no gradient: the checkpoint must still connect.
        using var scope = NewDisposeScope();
        var model = Create(tied: false);
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.StartsWith("model.layers.1.", StringComparison.Ordinal);
        var (ids, labels) = Batch(model, 1, 9);
        var (_, expected) = LossAndGradients(model, ids, labels, new SdpaAttentionBackend(), null);
        var (_, actual) = LossAndGradients(model, ids, labels, new SdpaAttentionBackend(), new RecomputingLayerRunner());
        Assert.NotEmpty(expected);
        Assert.All(expected.Keys, k => Assert.StartsWith("model.layers.1.", k));
        AssertSameGradients(expected, actual, 5e-6);
    }

    [Fact]
    public void Partial_checkpointing_recomputes_only_the_first_layers_and_keeps_the_gradients()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: false, layers: 3);
        var calls = new List<(int layer, bool grad)>();
        for (int i = 0; i < 3; i++)
        {
            int layer = i;
            model.model.layers[i].mlp.register_forward_hook((_, _, output) =>
            {
                calls.Add((layer, is_grad_enabled()));
                return output;
            });
        }
        var (ids, labels) = Batch(model, 2, 9);
        var (expectedLoss, expected) = LossAndGradients(model, ids, labels, new SdpaAttentionBackend(), null);
        calls.Clear();
        var (loss, actual) = LossAndGradients(model, ids, labels, new SdpaAttentionBackend(), new RecomputingLayerRunner(recomputedLayers: 1));
        AssertClose(expectedLoss, loss, 1e-6, "loss");
        AssertSameGradients(expected, actual, 5e-6);
        // Layer 0 ran without a graph and again in backward; layers 1 and 2 ran once, with their graphs kept.
        Assert.Equal([(0, false), (1, true), (2, true), (0, true)], calls);
    }

    [Fact]
    public void A_failing_recompute_is_reported_after_backward_instead_of_aborting_the_process()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: false, layers: 2);
        // Throw only when the layer runs with gradients on, i.e. in the backward's recompute (as a CUDA OOM would).
        model.model.layers[1].mlp.register_forward_hook((_, _, output) =>
            is_grad_enabled() ? throw new InvalidOperationException("CUDA out of memory (simulated)") : output);
        var runner = new RecomputingLayerRunner();
        var (ids, labels) = Batch(model, 1, 7);
        var hidden = model.Forward(ids, new ForwardContext(new SdpaAttentionBackend()), layerRunner: runner);
        PlainLoss(model, hidden, labels).backward();                       // returns: the failure waits in the runner
        var error = Assert.Throws<LongContextException>(runner.ThrowIfBackwardFailed);
        Assert.Contains("out of memory", error.Message);
        Assert.Contains("--offload", error.Message);
        runner.ThrowIfBackwardFailed();                                     // cleared once raised
    }

    [Fact]
    public void Forward_keeps_no_graph_inside_layers_and_backward_recomputes_them()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: false, layers: 2);
        var calls = new List<(int layer, bool grad)>();
        for (int i = 0; i < 2; i++)
        {
            int layer = i;
            model.model.layers[i].mlp.register_forward_hook((_, _, output) =>
            {
                calls.Add((layer, is_grad_enabled()));
                return output;
            });
        }
        var (ids, labels) = Batch(model, 1, 6);
        var hidden = model.Forward(ids, new ForwardContext(new SdpaAttentionBackend()), layerRunner: new RecomputingLayerRunner());
        Assert.Equal([(0, false), (1, false)], calls);   // forward ran without building a graph
        Assert.True(hidden.requires_grad);
        PlainLoss(model, hidden, labels).backward();
        Assert.Equal([(0, false), (1, false), (1, true), (0, true)], calls);   // backward re-ran each layer, last first
    }

    [Fact]
    public void Forward_without_gradients_equals_the_plain_forward()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: false);
        var (ids, _) = Batch(model, 1, 8);
        using var _ = no_grad();
        var plain = model.Forward(ids, new SdpaAttentionBackend());
        var run = model.Forward(ids, new ForwardContext(new SdpaAttentionBackend()), layerRunner: new RecomputingLayerRunner());
        AssertClose(plain, run, 0, "hidden states");
    }

    [Fact]
    public void A_layer_runner_cannot_be_combined_with_a_kv_cache()
    {
        var model = Create(tied: false, layers: 1);
        using var cache = new LongContext.Core.Inference.KvCache(model.Config, 1, 8, ScalarType.Float32, CPU);
        Assert.Throws<ArgumentException>(() => model.Forward(zeros([1, 2], ScalarType.Int64), new ForwardContext(new SdpaAttentionBackend()), cache,
            layerRunner: new RecomputingLayerRunner()));
    }
}
