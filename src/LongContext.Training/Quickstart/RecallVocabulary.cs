namespace LongContext.Training.Quickstart;

/// <summary>
/// The token layout of the quickstart's synthetic associative-recall language: PAD, then one <em>pair</em> token for
/// every (key, value) combination (<see cref="KeyCount"/> × <see cref="ValueCount"/>), then one <em>query</em> token
/// per key. A record is a single pair token `(k,v)`; a query `Q_k` asks for the pair token of key k seen earlier in
/// the sequence. Answering needs one attention lookup by content (Q_k → the pair with key k), not a two-layer
/// induction circuit (docs/quickstart.md, "Why pair tokens").
/// </summary>
public sealed record RecallVocabulary
{
    public const int Pad = 0;
    private const int FirstPair = 1;

    public int KeyCount { get; init; } = 24;
    public int ValueCount { get; init; } = 8;

    /// <summary>Size of the embedding table: PAD, pairs, queries.</summary>
    public int Size => FirstQuery + KeyCount;

    private int FirstQuery => FirstPair + KeyCount * ValueCount;

    public int Pair(int key, int value) => FirstPair + key * ValueCount + value;
    public int QueryFor(int key) => FirstQuery + key;
    public bool IsPair(long token) => token >= FirstPair && token < FirstQuery;
    public bool IsQuery(long token) => token >= FirstQuery && token < Size;
    /// <summary>Key index of a pair or query token.</summary>
    public int KeyOf(long token) => IsQuery(token) ? (int)token - FirstQuery : ((int)token - FirstPair) / ValueCount;
    /// <summary>Value index of a pair token.</summary>
    public int ValueOf(long token) => ((int)token - FirstPair) % ValueCount;

    /// <summary>A uniformly random value index.</summary>
    public int DrawValue(Random rng) => rng.Next(ValueCount);

    /// <summary>Readable form of a token sequence (`k3=v5` for a pair, `Q3` for a query) for reports and test failures.</summary>
    public string Describe(IEnumerable<long> tokens) => string.Join(' ', tokens.Select(t => t switch
    {
        Pad => "PAD",
        _ when IsPair(t) => $"k{KeyOf(t)}=v{ValueOf(t)}",
        _ when IsQuery(t) => "Q" + KeyOf(t),
        _ => "?" + t,
    }));
}
