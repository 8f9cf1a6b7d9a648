using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// The seam between the model and how attention is computed. The model hands over q [B,Hq,L,D] and the keys and
/// values it may attend to, k/v [B,Hkv,S,D] (K/V keep their own, smaller head count: GQA), and never knows whether
/// the result comes from one GPU or a ring of them.
/// </summary>
/// <remarks>
/// <para><b>The model's call</b> is <see cref="Attend(Tensor, Tensor, Tensor, AttentionMask, double)"/>. Its
/// <see cref="AttentionMask"/> says, without any [L, S] tensor, which keys each query may see:</para>
/// <list type="bullet">
/// <item>always causal, bottom-right aligned: with S ≥ L (a KV cache plus this chunk) the queries are the last L of the
/// S positions, so query i sees keys j ≤ i + (S − L);</item>
/// <item><see cref="AttentionMask.SlidingWindow"/>: in addition only the window most recent keys, itself included;</item>
/// <item><see cref="AttentionMask.Documents"/> (packed rows, training only, S = L): in addition only keys of the query's
/// own document. The segments are given per row in the coordinates of the <b>whole</b> row (before any sharding);</item>
/// <item><see cref="AttentionMask.Shard"/>: q/k/v hold only some tokens of a longer row — the ranges of global token
/// indices listed there, in the order the tensors hold them (the queries' and the local keys' positions). A
/// context-parallel backend (zigzag ring or all-gathered K/V, in LongContext.Parallel) reads the shard to know where
/// its queries and keys sit and fetches the other ranks' K/V itself; the documents tell it which of those keys each
/// query may see (key j is visible to query i iff j ≤ i and document(j) = document(i), all in global indices).</item>
/// </list>
/// <para>The result is [B, Hq, L, D] in q's dtype, differentiable with respect to q, k and v when they require
/// gradients. RoPE has already been applied (with positions from the batch, which restart per document when the
/// packer resets them), so a backend never needs position ids, only the token indices of the shard.</para>
/// <para>The default implementation serves every single-device backend: it runs causal or sliding-window attention
/// through the two kernel-level calls below, splits a document mask into one causal call per document segment
/// (block-diagonal causal, <see cref="DocumentAttention"/>), accepts a shard only when it is a prefix of the row
/// (then the local keys are all the queries can see), and refuses any other shard with a clear error.</para>
/// </remarks>
public interface IAttentionBackend
{
    string Name { get; }

    /// <summary>
    /// One kernel-level call: causal (bottom-right aligned, as above) or full attention of q over all of k/v. Ring
    /// attention and the document split are built from calls like this one.
    /// </summary>
    Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale);

    /// <summary>
    /// Causal attention where each query sees only the <paramref name="window"/> most recent keys, itself included
    /// (Mistral/Qwen2 <c>sliding_window</c>). The default narrows K/V to the reachable keys and uses <see cref="Attend(Tensor, Tensor, Tensor, bool, double)"/>
    /// or masked SDPA (<see cref="SlidingWindowAttention"/>); a backend whose K/V are not the whole sequence (ring
    /// attention) must override it or refuse.
    /// </summary>
    Tensor AttendSlidingWindow(Tensor q, Tensor k, Tensor v, int window, double scale) =>
        SlidingWindowAttention.Attend(this, q, k, v, window, scale);

    /// <summary>The model's call: causal attention limited as <paramref name="mask"/> says (contract above).</summary>
    Tensor Attend(Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale) =>
        MaskedAttention.Attend(this, q, k, v, mask, scale);
}
