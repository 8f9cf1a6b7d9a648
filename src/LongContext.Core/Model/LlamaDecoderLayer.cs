using LongContext.Core.Inference;
using LongContext.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Model;

/// <summary>Pre-norm decoder block: x + attn(norm(x)), then h + mlp(norm(h)).</summary>
public sealed class LlamaDecoderLayer : nn.Module
{
    public LlamaAttention self_attn;
    public LlamaMlp mlp;
    public RmsNorm input_layernorm, post_attention_layernorm;

    public LlamaDecoderLayer(ModelConfig c, int layerIndex, ScalarType dtype, Device device) : base("LlamaDecoderLayer")
    {
        LayerIndex = layerIndex;
        self_attn = new LlamaAttention(c, layerIndex, dtype, device);
        mlp = new LlamaMlp(c, dtype, device);
        input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        RegisterComponents();
    }

    /// <summary>Position in the stack (0 = first after the embeddings).</summary>
    public int LayerIndex { get; }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, ForwardContext context, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.Forward(input_layernorm.call(x), cos, sin, context, cache);
        var output = h + mlp.call(post_attention_layernorm.call(h));
        return output.MoveToOuterDisposeScope();
    }
}
