using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using LongContext.Training.Quickstart;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Quickstart;

/// <summary>The quickstart's loss and backward on the real model stack, checked against finite differences.</summary>
public class TrainingPathTests
{
    private static readonly RecallVocabulary Vocab = new() { KeyCount = 8, ValueCount = 8 };

    private static LlamaForCausalLM OneLayerModel()
    {
        var o = QuickstartOptions.Fast with { HiddenSize = 16, IntermediateSize = 32, Layers = 1, Heads = 2, KeyValueHeads = 1 };
        var model = ModelLoader.CreateRandom(QuickstartRunner.ModelConfigFor(o, Vocab), CPU, ScalarType.Float64, seed: 1, std: 0.3);
        foreach (var p in model.parameters()) p.requires_grad = true;
        return model;
    }

    /// <summary>The quickstart's training loss (mean over answer positions), as its trainer computes it.</summary>
    private static Tensor MeanLoss(LlamaForCausalLM model, TrainingBatch host, IAttentionBackend backend)
    {
        var batch = LongContext.Training.Loop.DeviceBatch.Upload(host, CPU, backend);
        return ProjectQuickstartTrainer.AnswerLossSum(model, batch).LossSum / (double)host.PredictedTokens;
    }

    /// <summary>The same loss as the trainer's, with float64 logits so central differences resolve it.</summary>
    private static double Loss64(LlamaForCausalLM model, TrainingBatch batch)
    {
        using var scope = NewDisposeScope();
        var ids = tensor(batch.InputIds, [batch.BatchSize, batch.SequenceLength], dtype: ScalarType.Int64);
        var labels = tensor(batch.Labels, [batch.BatchSize * batch.SequenceLength], dtype: ScalarType.Int64);
        var hidden = model.Forward(ids, new SdpaAttentionBackend()).reshape(batch.BatchSize * batch.SequenceLength, -1);
        var picked = nonzero(labels.ne(TrainingBatch.IgnoreIndex)).squeeze(1);
        var logits = nn.functional.linear(hidden.index_select(0, picked), model.LmHeadWeight);
        return nn.functional.cross_entropy(logits, labels.index_select(0, picked)).item<double>();
    }

    [Fact]
    public void Trainer_loss_gradient_matches_central_differences_for_every_parameter_of_a_one_layer_model()
    {
        using var model = OneLayerModel();
        var batch = new RecallCorpus(Vocab, 24, 3, seed: 7, queryRate: 0.5).Next();
        var loss = MeanLoss(model, batch, new SdpaAttentionBackend());
        loss.backward();
        Assert.Equal(Loss64(model, batch), loss.item<float>(), 4);
        var rng = new Random(3);
        const double eps = 1e-3;   // RmsNorm normalises in fp32 (as HF does), so smaller steps drown in rounding
        foreach (var (name, p) in model.named_parameters())
        {
            var flat = p.view(-1);
            var grad = p.grad!.view(-1);
            for (var t = 0; t < 3; t++)
            {
                var i = rng.Next((int)flat.shape[0]);
                double plus, minus, original;
                using (no_grad())
                {
                    original = flat[i].item<double>();
                    flat[i] = original + eps;
                    plus = Loss64(model, batch);
                    flat[i] = original - eps;
                    minus = Loss64(model, batch);
                    flat[i] = original;
                }
                var numeric = (plus - minus) / (2 * eps);
                var analytic = grad[i].item<double>();
                var tolerance = 0.03 * Math.Max(Math.Abs(numeric), 1e-2);
                Assert.True(Math.Abs(numeric - analytic) <= tolerance, $"{name}[{i}]: backward {analytic:E4}, finite difference {numeric:E4}");
            }
        }
    }

    [Fact]
    public void Sdpa_and_fused_attention_backends_give_the_same_loss_and_gradients()
    {
        using var model = OneLayerModel();
        var batch = new RecallCorpus(Vocab, 24, 3, seed: 7, queryRate: 0.5).Next();
        (double Loss, Tensor[] Grads) Run(IAttentionBackend backend)
        {
            foreach (var p in model.parameters()) p.grad?.zero_();
            var loss = MeanLoss(model, batch, backend);
            loss.backward();
            return (loss.item<float>(), model.parameters().Select(p => p.grad!.clone()).ToArray());
        }
        var sdpa = Run(new SdpaAttentionBackend());
        var fused = Run(new FusedAttentionBackend());
        Assert.Equal(sdpa.Loss, fused.Loss, 5);
        for (var i = 0; i < sdpa.Grads.Length; i++)
            Assert.True(sdpa.Grads[i].allclose(fused.Grads[i], rtol: 1e-5, atol: 1e-7), $"gradient {i} differs between backends");
    }
}
