using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// The default of <see cref="IAttentionBackend.Attend(Tensor, Tensor, Tensor, AttentionMask, double)"/> for backends
/// that see only local keys: plain causal or sliding-window attention, a document mask as one call per segment, and a
/// sequence shard only when it is a prefix of the row (its queries need no key from elsewhere).
/// </summary>
public static class MaskedAttention
{
    public static Tensor Attend(IAttentionBackend backend, Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale)
    {
        var documents = mask.Documents;
        if (mask.Shard is { } shard)
        {
            if (shard.LocalLength != q.shape[2])
                throw new ArgumentException($"the sequence shard holds {shard.LocalLength} tokens but the queries are {q.shape[2]}", nameof(mask));
            if (!shard.IsPrefix)
                throw new NotSupportedException($"the {backend.Name} attention backend sees only this process's keys, so it can attend a sequence shard only when "
                    + $"the shard is the start of the row (here tokens {string.Join(", ", shard.Ranges.Select(r => $"[{r.Start}, {r.End})"))} of {shard.GlobalLength}); "
                    + "sequence sharding needs a context-parallel attention backend (LongContext.Parallel).");
            if (documents is not null && !shard.IsWhole) documents = documents.Slice(0, shard.LocalLength);
        }
        if (documents is not null) return DocumentAttention.Attend(backend, q, k, v, documents, mask.SlidingWindow, scale);
        return mask.SlidingWindow is int window
            ? backend.AttendSlidingWindow(q, k, v, window, scale)
            : backend.Attend(q, k, v, causal: true, scale);
    }
}
