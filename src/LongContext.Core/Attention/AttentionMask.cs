namespace LongContext.Core.Attention;

/// <summary>
/// Which keys each query may see, as a description rather than an [L, S] tensor (see <see cref="IAttentionBackend"/>
/// for the full contract). Always causal, bottom-right aligned; each property narrows it further.
/// </summary>
public sealed record AttentionMask
{
    /// <summary>Plain causal attention over every key before the query (itself included).</summary>
    public static readonly AttentionMask Causal = new();

    /// <summary>Each query sees only this many most recent keys, itself included (Mistral/Qwen2 <c>sliding_window</c>).</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Packed documents: each query sees only keys of its own document. Null: one document per row.</summary>
    public DocumentSegments? Documents { get; init; }

    /// <summary>q/k/v hold only these tokens of a longer row (sequence parallelism). Null: the whole row.</summary>
    public SequenceShard? Shard { get; init; }
}
