using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Attention for one query token over a fixed window of cached keys, the shape a captured decode step needs:
/// slots past the current position are removed by an additive mask [window] (0 or −∞) that the step computes
/// on the device. Query heads are grouped under their KV head (HF's repeat_kv order), so each KV head is read
/// once by a small batched matmul and never repeated. Scores are formed in the model dtype and normalised in
/// fp32, as transformers' eager attention does.
/// </summary>
public sealed class GroupedDecodeAttention : IAttentionBackend
{
    /// <summary>The additive mask for the current step, [window] fp32; set by the decode step before the layers run.</summary>
    public Tensor? Mask { get; set; }

    public string Name => "grouped-decode";

    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale)
    {
        var mask = Mask ?? throw new InvalidOperationException("GroupedDecodeAttention needs Mask set for the step");
        long b = q.shape[0], hq = q.shape[1], d = q.shape[3], hkv = k.shape[1], s = k.shape[2];
        if (q.shape[2] != 1) throw new ArgumentException($"GroupedDecodeAttention takes one query token, got {q.shape[2]}");
        if (mask.shape[0] != s) throw new ArgumentException($"mask covers {mask.shape[0]} slots, keys {s}");
        using var scope = NewDisposeScope();
        long g = hq / hkv;
        var qg = (q * scale).view(b, hkv, g, d);                                      // [B, Hkv, G, D]
        var scores = matmul(qg, k.transpose(2, 3)).to(ScalarType.Float32) + mask;   // [B, Hkv, G, S]
        var probs = scores.softmax(-1).to(q.dtype);
        // probs·V reduces over S: as one matmul, long contexts leave most SMs idle (a few tiny output tiles
        // with a 128K-long reduction). Split S into blocks, multiply block by block in one batched matmul, and
        // add the partial results (the probabilities are already normalised, so no rescaling is needed).
        long blocks = s / SplitBlock;
        Tensor output;
        if (blocks < 2) output = matmul(probs, v);
        else
        {
            long head = blocks * SplitBlock;
            var pb = probs.narrow(3, 0, head).reshape(b, hkv, g, blocks, SplitBlock).transpose(2, 3);    // [B,Hkv,n,G,c]
            var vb = v.narrow(2, 0, head).reshape(b, hkv, blocks, SplitBlock, d);                       // [B,Hkv,n,c,D]
            output = matmul(pb, vb).to(ScalarType.Float32).sum(2);                                    // [B,Hkv,G,D]
            if (head < s) output = output + matmul(probs.narrow(3, head, s - head), v.narrow(2, head, s - head)).to(ScalarType.Float32);
            output = output.to(q.dtype);
        }
        return output.view(b, hq, 1, d).MoveToOuterDisposeScope();
    }

    /// <summary>Keys per block of the split probs·V product.</summary>
    public const int SplitBlock = 1024;
}
