using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.ActivationCheckpointing;
using LongContext.Training.Lora;
using LongContext.Training.Loss;
using TorchSharp;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TinyTrainingModel;

namespace LongContext.Tests.Training;

public class LoraAdaptersTests
{
    static readonly IAttentionBackend Sdpa = new SdpaAttentionBackend();

    static Dictionary<string, Tensor> Snapshot(LlamaForCausalLM model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && (a - b).abs().max().item<float>() == 0;

    static void TrainSteps(LlamaForCausalLM model, LoraAdapters lora, int steps, IDecoderLayerRunner? runner = null)
    {
        var optimizer = optim.AdamW(lora.TrainableParameters.Select(p => p.Parameter), lr: 1e-2);
        var (ids, labels) = Batch(model, 2, 9);
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var hidden = model.Forward(ids, new ForwardContext(Sdpa), layerRunner: runner);
            ChunkedCrossEntropy.Sum(hidden, model.LmHeadWeight, labels, 4).backward();
            optimizer.step();
        }
    }

    [Fact]
    public void At_init_the_adapted_model_equals_the_base_model()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: false);
        var (ids, _) = Batch(model, 2, 8);
        using var _ = no_grad();
        var before = model.Forward(ids, Sdpa);
        var lora = LoraAdapters.Apply(model, new LoraOptions { Rank = 4, Alpha = 8 });
        var after = model.Forward(ids, Sdpa);
        Assert.Equal(0f, (before - after).abs().max().item<float>());
        var q = model.model.layers[0].self_attn.q_proj;
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var a = named["model.layers.0.self_attn.q_proj.lora_A.weight"];
        var b = named["model.layers.0.self_attn.q_proj.lora_B.weight"];
        Assert.Equal([4L, q.weight!.shape[1]], a.shape);
        Assert.Equal([q.weight!.shape[0], 4L], b.shape);
        Assert.True(a.abs().max().item<float>() > 0);
        Assert.Equal(0f, b.abs().max().item<float>());
        // PEFT's Kaiming-uniform bound for a = sqrt(5): 1 / sqrt(fan_in).
        Assert.True(a.abs().max().item<float>() <= 1 / Math.Sqrt(q.weight!.shape[1]) + 1e-6);
        Assert.Equal(2.0, lora.Options.Scaling);
    }

    [Fact]
    public void Adapter_parameters_are_listed_for_the_optimizer_with_peft_names()
    {
        var model = Create(tied: false, layers: 2);
        var lora = LoraAdapters.Apply(model, new LoraOptions
        {
            TargetModules = [.. LoraOptions.AttentionModules, .. LoraOptions.MlpModules],
            Trainable = LoraOptions.ParseList("embed,norm"),
        });
        var names = lora.TrainableParameters.Select(p => p.Name).ToHashSet();
        Assert.Equal(2 * 7 * 2, lora.AdapterParameterNames.Count);
        Assert.Contains("model.layers.1.mlp.down_proj.lora_B.weight", names);
        Assert.Contains("model.layers.0.self_attn.v_proj.lora_A.weight", names);
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.Contains("model.layers.1.post_attention_layernorm.weight", names);
        Assert.DoesNotContain("lm_head.weight", names);
        Assert.DoesNotContain("model.layers.0.self_attn.q_proj.weight", names);
        Assert.Equal(lora.AdapterParameterNames.Count + 1 + (2 * 2 + 1), names.Count);
        // Exactly the listed parameters require gradients.
        var requiring = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToHashSet();
        Assert.Equal(names.Order(), requiring.Order());
        Assert.All(lora.AdapterTensors().Keys, k => Assert.StartsWith("base_model.model.model.layers.", k));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void One_optimizer_step_changes_only_adapters_and_chosen_extras(bool tied, bool checkpointing)
    {
        using var scope = NewDisposeScope();
        var model = Create(tied);
        var lora = LoraAdapters.Apply(model, new LoraOptions { Rank = 2, Trainable = ["norm"] });
        var before = Snapshot(model);
        // Two steps: B starts at zero, so A's first gradient is zero too.
        TrainSteps(model, lora, 2, checkpointing ? new RecomputingLayerRunner() : null);
        var trainable = lora.TrainableParameters.Select(p => p.Name).ToHashSet();
        foreach (var (name, p) in model.named_parameters())
        {
            bool changed = !Same(before[name], p);
            Assert.True(changed == trainable.Contains(name), $"{name}: changed = {changed}, trainable = {trainable.Contains(name)}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Merged_weights_give_the_adapted_model_logits(bool tied)
    {
        using var scope = NewDisposeScope();
        var model = Create(tied);
        var lora = LoraAdapters.Apply(model, new LoraOptions { Rank = 3, Alpha = 6, TargetModules = ["q_proj", "v_proj", "down_proj"] });
        TrainSteps(model, lora, 3);
        var (ids, _) = Batch(model, 2, 8, seed: 99);
        using var _ = no_grad();
        var adapted = model.Logits(model.Forward(ids, Sdpa));

        var merged = lora.MergedTensors();
        var plain = Create(tied, seed: 123);
        var plainNames = plain.NamedTensors();
        Assert.Equal(plainNames.Keys.Order(), merged.Keys.Order());     // HF names, no adapters
        foreach (var (name, t) in merged) plainNames[name].copy_(t);
        var logits = plain.Logits(plain.Forward(ids, Sdpa));
        AssertClose(adapted, logits, 1e-5, "logits");
        // The merge changed the targeted weights (B is no longer zero after training).
        var baseQ = model.model.layers[0].self_attn.q_proj.weight!;
        Assert.False(Same(merged["model.layers.0.self_attn.q_proj.weight"], baseQ));
        Assert.True(Same(merged["model.layers.0.self_attn.k_proj.weight"], model.model.layers[0].self_attn.k_proj.weight!));
    }

    [Fact]
    public void Adapter_gradients_with_checkpointing_equal_those_without()
    {
        using var scope = NewDisposeScope();
        var model = Create(tied: true);
        var lora = LoraAdapters.Apply(model, new LoraOptions { Rank = 2 });
        TrainSteps(model, lora, 1);   // make B non-zero so every adapter gradient is non-trivial
        TakeGradients(model);         // and drop the step's gradients
        var (ids, labels) = Batch(model, 2, 10);
        Dictionary<string, Tensor> Gradients(IDecoderLayerRunner? runner)
        {
            var hidden = model.Forward(ids, new ForwardContext(Sdpa), layerRunner: runner);
            ChunkedCrossEntropy.Sum(hidden, model.LmHeadWeight, labels, 3).backward();
            return TakeGradients(model);
        }
        var expected = Gradients(null);
        Assert.Equal(lora.AdapterParameterNames.Order(), expected.Keys.Order());
        AssertSameGradients(expected, Gradients(new RecomputingLayerRunner()), 5e-6);
    }

    [Fact]
    public void Invalid_options_name_the_setting()
    {
        var model = Create(tied: false, layers: 1);
        Assert.Contains("qkv_proj", Assert.Throws<ConfigException>(() => LoraAdapters.Apply(model, new LoraOptions { TargetModules = ["qkv_proj"] })).Message);
        Assert.Contains("--lora-trainable", Assert.Throws<ConfigException>(() => LoraAdapters.Apply(model, new LoraOptions { Trainable = ["bias"] })).Message);
        Assert.Throws<ConfigException>(() => LoraAdapters.Apply(model, new LoraOptions { Rank = 0 }));
        Assert.Empty(LoraOptions.ParseList("none"));
    }
}
