using LongContext.Core.Weights;
using LongContext.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Model;

/// <summary>Builds a model from an HF folder (config.json + safetensors), or with random weights for benchmarks.</summary>
public static class ModelLoader
{
    /// <summary>Loads config and weights, streaming tensor by tensor to the device with dtype conversion.</summary>
    /// <param name="configure">Changes the config before the model is built (e.g. a raised rope_theta for a context
    /// extension stage); the architecture must stay the same, so every weight still fits.</param>
    public static LlamaForCausalLM Load(string modelDir, Device device, ScalarType dtype, IProgress<CheckpointLoadProgress>? progress = null,
        Func<ModelConfig, ModelConfig>? configure = null)
    {
        var config = ModelConfigLoader.LoadFromDirectory(modelDir);
        if (configure is not null) config = configure(config);
        if (!SafetensorsCheckpoint.Exists(modelDir))
            throw new CheckpointException($"{modelDir}: no model.safetensors or model.safetensors.index.json. LongContext reads safetensors only; convert .bin weights with transformers (save_pretrained(safe_serialization=True)).");
        var model = Create(config, device, dtype);
        using var checkpoint = SafetensorsCheckpoint.Open(modelDir);
        using (no_grad())
        {
            checkpoint.LoadInto(model.NamedTensors(), new CheckpointLoadOptions
            {
                // Tied checkpoints sometimes store the shared matrix under both names.
                AllowedUnexpected = config.TieWordEmbeddings ? ["lm_head.weight"] : [],
            }, progress);
        }
        return model;
    }

    /// <summary>A model with uninitialised parameters (to be loaded) on the device.</summary>
    public static LlamaForCausalLM Create(ModelConfig config, Device device, ScalarType dtype)
    {
        var model = new LlamaForCausalLM(config, dtype, device);
        model.eval();
        foreach (var p in model.parameters()) p.requires_grad = false;
        return model;
    }

    /// <summary>Random N(0, std) weights and unit norms: speed does not depend on values (benchmarks).</summary>
    public static LlamaForCausalLM CreateRandom(ModelConfig config, Device device, ScalarType dtype, long seed = 0, double std = 0.02)
    {
        var model = Create(config, device, dtype);
        using var _ = no_grad();
        // On the CPU a private generator, so concurrent users of the global seed (other threads, tests) cannot
        // change the weights; TorchSharp's Generator objects are CPU-only and CUDA's normal_ rejects them, so CUDA
        // uses the global seed.
        using var generator = device.type == DeviceType.CPU ? new Generator((ulong)seed) : null;
        if (generator is null)
        {
            torch.manual_seed(seed);
            torch.cuda.manual_seed_all(seed);
        }
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1.0);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0, std, generator);
        }
        return model;
    }
}
