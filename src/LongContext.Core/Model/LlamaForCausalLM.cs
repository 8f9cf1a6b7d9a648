using LongContext.Core.Attention;
using LongContext.Core.Inference;
using LongContext.Core.Rope;
using LongContext.Formats.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LongContext.Core.Model;

/// <summary>The decoder stack of HF LlamaModel: embed_tokens → layers → norm (names match HF state dicts).</summary>
public sealed class LlamaModel : nn.Module
{
    public Embedding embed_tokens;
    public ModuleList<LlamaDecoderLayer> layers;
    public RmsNorm norm;

    public LlamaModel(ModelConfig c, ScalarType dtype, Device device) : base("LlamaModel")
    {
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize, device: device, dtype: dtype);
        layers = new ModuleList<LlamaDecoderLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(i => new LlamaDecoderLayer(c, i, dtype, device)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        RegisterComponents();
    }
}

/// <summary>
/// A Llama-family causal LM (llama, mistral, qwen2): HF-compatible parameter names, no parallelism and no I/O.
/// The forward returns final hidden states; logits are computed only for the positions a caller asks for.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module
{
    public LlamaModel model;
    public Linear? lm_head;
    readonly RotaryEmbedding rotary;

    public LlamaForCausalLM(ModelConfig config, ScalarType dtype, Device device) : base("LlamaForCausalLM")
    {
        Config = config;
        Dtype = dtype;
        Device = device;
        model = new LlamaModel(config, dtype, device);
        if (!config.TieWordEmbeddings)
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device, dtype: dtype);
        rotary = new RotaryEmbedding(config);
        RegisterComponents();
    }

    public ModelConfig Config { get; }
    public ScalarType Dtype { get; }
    public Device Device { get; }
    public Tensor LmHeadWeight => lm_head?.weight ?? model.embed_tokens.weight!;

    /// <summary>
    /// Runs the decoder. inputIds [B, L]; <paramref name="context"/> carries the attention backend, positions, RoPE
    /// length and (training) document segments and sequence shard. With a cache, keys and values are appended to it
    /// and the cache advances by L.
    /// </summary>
    /// <returns>Hidden states after the final norm, [B, L, hidden].</returns>
    /// <param name="layerRunner">Runs each decoder layer instead of calling it directly (training: activation
    /// checkpointing). Cannot be combined with a cache.</param>
    public Tensor Forward(Tensor inputIds, ForwardContext context, KvCache? cache = null, IDecoderLayerRunner? layerRunner = null)
    {
        if (layerRunner is not null && cache is not null)
            throw new ArgumentException("a layer runner is for full-sequence (training) forwards and cannot be used with a KV cache", nameof(layerRunner));
        if (context.Documents is not null && cache is not null)
            throw new ArgumentException("document masks are for full-sequence (training) forwards and cannot be used with a KV cache", nameof(context));
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], l = inputIds.shape[1];
        int start = cache?.Length ?? 0;
        int end = start + (int)l;
        var positionIds = context.PositionIds;
        // With default positions the largest is end − 1, so the rotary tables need no device→host read.
        int? seqLenHint = positionIds is null ? Math.Max(end, context.RopeSequenceLength ?? 0) : context.RopeSequenceLength;
        positionIds ??= arange(start, end, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0).expand(b, l);
        var (cos, sin) = rotary.Forward(positionIds, Dtype, inputIds.device, seqLen: seqLenHint);
        var h = model.embed_tokens.call(inputIds);
        foreach (var layer in model.layers)
        {
            // Drop each layer's input as soon as the next exists: at 128K one hidden state is 1 GiB, and the
            // scope would otherwise hold all of them (autograd keeps what backward needs by itself).
            var next = layerRunner is null ? layer.Forward(h, cos, sin, context, cache) : layerRunner.Run(layer, h, cos, sin, context);
            h.Dispose();
            h = next;
        }
        cache?.Advance((int)l);
        return model.norm.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Inference shorthand: a forward whose context is only the backend, the positions (default: after the cache) and
    /// <paramref name="ropeSequenceLength"/> — for dynamic/longrope, the length the whole input will reach, so a prompt
    /// prefilled in chunks is rotated exactly as one forward over it would be (as transformers does).
    /// </summary>
    public Tensor Forward(Tensor inputIds, IAttentionBackend backend, KvCache? cache = null, Tensor? positionIds = null, int? ropeSequenceLength = null) =>
        Forward(inputIds, new ForwardContext(backend) { PositionIds = positionIds, RopeSequenceLength = ropeSequenceLength }, cache);

    /// <summary>Logits in fp32 for hidden states [.., hidden] (callers pass only the positions they need).</summary>
    public Tensor Logits(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return nn.functional.linear(hidden, LmHeadWeight).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Parameters by HF name ("model.layers.0.self_attn.q_proj.weight", ...).</summary>
    public IReadOnlyDictionary<string, Tensor> NamedTensors() =>
        named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);

    protected override void Dispose(bool disposing)
    {
        if (disposing) rotary.Dispose();
        base.Dispose(disposing);
    }
}
