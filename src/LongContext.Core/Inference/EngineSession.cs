using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Core.Native;
using LongContext.Core.Runtime;
using LongContext.Formats.Config;
using LongContext.Formats.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

/// <summary>A loaded model folder: weights on a device, its tokenizer, and the attention backend that suits the device.</summary>
public sealed class EngineSession : IDisposable
{
    EngineSession(LlamaForCausalLM model, HfTokenizer tokenizer, IAttentionBackend backend, string modelDir)
    {
        Model = model;
        Tokenizer = tokenizer;
        Backend = backend;
        ModelDir = modelDir;
        Generator = new TextGenerator(model, backend, tokenizer);
    }

    public LlamaForCausalLM Model { get; }
    public HfTokenizer Tokenizer { get; }
    public IAttentionBackend Backend { get; }
    public TextGenerator Generator { get; }
    public string ModelDir { get; }

    /// <param name="device">cpu, cuda, cuda:N or auto</param>
    /// <param name="dtype">float32, bfloat16, float16, or null: bfloat16 on CUDA, float32 on the CPU</param>
    /// <param name="progress">Reported after each tensor is loaded.</param>
    public static EngineSession Open(string modelDir, string device = "auto", string? dtype = null, IProgress<Weights.CheckpointLoadProgress>? progress = null)
    {
        if (!Directory.Exists(modelDir)) throw new ConfigException($"--model {modelDir}: no such folder (it should hold config.json, tokenizer.json and *.safetensors).");
        var dev = TorchRuntime.ResolveDevice(device);
        var type = TorchRuntime.ResolveDtype(dtype, dev);
        var tokenizer = HfTokenizer.Load(modelDir);
        var model = ModelLoader.Load(modelDir, dev, type, progress);
        return new EngineSession(model, tokenizer, DefaultBackend(dev), modelDir);
    }

    /// <summary>A session over random weights of a given shape (benchmarks: speed does not depend on values).</summary>
    public static EngineSession CreateRandom(ModelConfig config, string tokenizerDir, string device = "auto", string? dtype = null)
    {
        var dev = TorchRuntime.ResolveDevice(device);
        var type = TorchRuntime.ResolveDtype(dtype, dev);
        var tokenizer = HfTokenizer.Load(tokenizerDir);
        var model = ModelLoader.CreateRandom(config, dev, type);
        return new EngineSession(model, tokenizer, DefaultBackend(dev), "random:" + config.ModelType);
    }

    /// <summary>The add-on's fused kernels on CUDA when loaded; TorchSharp's SDPA otherwise.</summary>
    public static IAttentionBackend DefaultBackend(Device device) =>
        device.type == DeviceType.CUDA && NativeAddon.IsAvailable ? new FusedAttentionBackend() : new SdpaAttentionBackend();

    /// <summary>Stop ids: every eos the tokenizer and generation_config name.</summary>
    public IReadOnlyCollection<int> StopTokenIds => Tokenizer.EosTokenIds.Concat(Model.Config.EosTokenIds).ToHashSet();

    public void Dispose() => Model.Dispose();
}
