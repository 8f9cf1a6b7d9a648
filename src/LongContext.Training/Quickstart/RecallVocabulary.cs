namespace LongContext.Training.Quickstart;

/// <summary>
/// The token layout of the quickstart's synthetic associative-recall language: PAD, SEP (ends a record), Q (starts a
/// query), then <see cref="KeyCount"/> key tokens and <see cref="ValueCount"/> value tokens. A record is `key value SEP`;
/// a query is `Q key value`, where the model must predict `value` from `Q key`.
/// </summary>
public sealed record RecallVocabulary
{
    public const int Pad = 0;
    public const int Sep = 1;
    public const int Query = 2;
    const int FirstKey = 3;

    public int KeyCount { get; init; } = 64;
    public int ValueCount { get; init; } = 64;

    /// <summary>Size of the embedding table: specials, keys and values.</summary>
    public int Size => FirstKey + KeyCount + ValueCount;

    public int Key(int index) => FirstKey + index;
    public int Value(int index) => FirstKey + KeyCount + index;
    public bool IsKey(long token) => token >= FirstKey && token < FirstKey + KeyCount;
    public bool IsValue(long token) => token >= FirstKey + KeyCount && token < Size;
    public int KeyIndex(long token) => (int)token - FirstKey;
    public int ValueIndex(long token) => (int)token - FirstKey - KeyCount;

    /// <summary>A uniformly random value index.</summary>
    public int DrawValue(Random rng) => rng.Next(ValueCount);

    /// <summary>Readable form of a token sequence (k17, v3, SEP, Q) for reports and test failures.</summary>
    public string Describe(IEnumerable<long> tokens) => string.Join(' ', tokens.Select(t => t switch
    {
        Pad => "PAD",
        Sep => "SEP",
        Query => "Q",
        _ when IsKey(t) => "k" + KeyIndex(t),
        _ when IsValue(t) => "v" + ValueIndex(t),
        _ => "?" + t,
    }));
}
