namespace LongContext.Training.Quickstart;

/// <summary>
/// The token layout of the quickstart's synthetic associative-recall language: PAD, SEP (ends a record), Q (starts a
/// query), then <see cref="KeyCount"/> key tokens and <see cref="ValueCount"/> value tokens. A record is `key value SEP`;
/// a query is `Q key value`, where the model must predict `value` from `Q key`.
/// <para>
/// The (key, value) pairs are split in two: <see cref="IsEvalPair"/> marks one pair in <see cref="EvalPairModulus"/> as
/// reserved for evaluation needles. Training data never contains a reserved pair anywhere (not as a record, not as a
/// query), so retrieving a needle is a skill the model learned, never a pair it memorised.
/// </para>
/// </summary>
public sealed record RecallVocabulary
{
    public const int Pad = 0;
    public const int Sep = 1;
    public const int Query = 2;
    const int FirstKey = 3;

    public int KeyCount { get; init; } = 256;
    public int ValueCount { get; init; } = 64;
    public int EvalPairModulus { get; init; } = 8;

    /// <summary>Size of the embedding table: specials, keys and values.</summary>
    public int Size => FirstKey + KeyCount + ValueCount;

    public int Key(int index) => FirstKey + index;
    public int Value(int index) => FirstKey + KeyCount + index;
    public bool IsKey(long token) => token >= FirstKey && token < FirstKey + KeyCount;
    public bool IsValue(long token) => token >= FirstKey + KeyCount && token < Size;
    public int KeyIndex(long token) => (int)token - FirstKey;
    public int ValueIndex(long token) => (int)token - FirstKey - KeyCount;

    /// <summary>
    /// True for the (key, value) index pairs reserved for evaluation: a fixed mixing hash, so that every key and
    /// every value keeps both reserved and trainable partners.
    /// </summary>
    public bool IsEvalPair(int keyIndex, int valueIndex)
    {
        var h = (uint)(keyIndex * 73856093) ^ (uint)(valueIndex * 19349663);
        h ^= h >> 13;
        h *= 0x5bd1e995;
        h ^= h >> 15;
        return h % (uint)EvalPairModulus == 0;
    }

    /// <summary>A value index for <paramref name="keyIndex"/> drawn uniformly from its training (non-reserved) partners.</summary>
    public int DrawTrainingValue(Random rng, int keyIndex)
    {
        while (true)
        {
            var v = rng.Next(ValueCount);
            if (!IsEvalPair(keyIndex, v)) return v;
        }
    }

    /// <summary>All reserved (key index, value index) pairs, key-major.</summary>
    public IReadOnlyList<(int Key, int Value)> EvalPairs() =>
        Enumerable.Range(0, KeyCount).SelectMany(k => Enumerable.Range(0, ValueCount).Where(v => IsEvalPair(k, v)).Select(v => (k, v))).ToArray();

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
