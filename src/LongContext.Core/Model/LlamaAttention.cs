using LongContext.Core.Attention;
using LongContext.Core.Inference;
using LongContext.Core.Rope;
using LongContext.Formats.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LongContext.Core.Model;

/// <summary>
/// Grouped-query self-attention. Projections and RoPE live here; the attention itself goes through the
/// <see cref="IAttentionBackend"/> seam with the mask the forward context describes (causal; this layer's sliding
/// window; packed documents; a sequence shard), and sees K/V with their own (smaller) head count.
/// </summary>
public sealed class LlamaAttention : nn.Module
{
    readonly int layerIndex, numHeads, numKvHeads, headDim;
    readonly int? slidingWindow;
    readonly double scale;
    public Linear q_proj, k_proj, v_proj, o_proj;

    public LlamaAttention(ModelConfig c, int layerIndex, ScalarType dtype, Device device) : base("LlamaAttention")
    {
        this.layerIndex = layerIndex;
        numHeads = c.NumAttentionHeads;
        numKvHeads = c.NumKeyValueHeads;
        headDim = c.HeadDim;
        scale = 1.0 / Math.Sqrt(headDim);
        slidingWindow = c.SlidingWindowForLayer(layerIndex);
        q_proj = nn.Linear(c.HiddenSize, numHeads * headDim, hasBias: c.AttentionBias, device: device, dtype: dtype);
        k_proj = nn.Linear(c.HiddenSize, numKvHeads * headDim, hasBias: c.AttentionBias, device: device, dtype: dtype);
        v_proj = nn.Linear(c.HiddenSize, numKvHeads * headDim, hasBias: c.AttentionBias, device: device, dtype: dtype);
        o_proj = nn.Linear(numHeads * headDim, c.HiddenSize, hasBias: c.OutputProjBias, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <param name="x">[B, L, hidden]</param>
    /// <param name="cos">[B, L, rotary]</param>
    /// <param name="cache">null in training; in inference the keys/values of earlier positions.</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, ForwardContext context, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        // RoPE on the projections' own [B, L, H, D] layout, then views as [B, H, L, D] for the backend.
        var q = RotaryEmbedding.ApplyRotary(q_proj.call(x).view(b, l, numHeads, headDim), cos, sin, tokensBeforeHeads: true).transpose(1, 2);
        var k = RotaryEmbedding.ApplyRotary(k_proj.call(x).view(b, l, numKvHeads, headDim), cos, sin, tokensBeforeHeads: true).transpose(1, 2);
        var v = v_proj.call(x).view(b, l, numKvHeads, headDim).transpose(1, 2);
        if (cache is not null) (k, v) = cache.Append(layerIndex, k, v);         // [B, Hkv, S, D], S = cached + L
        var attn = context.Attention.Attend(q, k, v, context.MaskFor(slidingWindow), scale);   // [B, Hq, L, D]
        var merged = attn.transpose(1, 2).reshape(b, l, numHeads * headDim);
        return o_proj.call(merged).MoveToOuterDisposeScope();
    }
}
