namespace LongContext.Training.Data;

/// <summary>A token corpus held in memory (tests, generated data, small corpora).</summary>
public sealed class InMemoryTokenCorpus : ITokenCorpus
{
    private readonly int[] _tokens;
    private readonly long[] _starts;

    /// <summary>Each list is one document's tokens, exactly as they should be packed (BOS/EOS included).</summary>
    public InMemoryTokenCorpus(IEnumerable<IReadOnlyList<int>> documents)
    {
        var tokens = new List<int>();
        var starts = new List<long> { 0 };
        foreach (var doc in documents)
        {
            if (doc.Count == 0) throw new ArgumentException("documents must not be empty", nameof(documents));
            foreach (int t in doc)
            {
                if (t < 0) throw new ArgumentException($"token id {t} is negative", nameof(documents));
                tokens.Add(t);
            }
            starts.Add(tokens.Count);
        }
        _tokens = tokens.ToArray();
        _starts = starts.ToArray();
    }

    public long DocumentCount => _starts.Length - 1;
    public long TokenCount => _tokens.Length;

    public long DocumentStart(long document)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(document);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(document, DocumentCount);
        return _starts[document];
    }

    public void CopyTokens(long start, Span<long> destination)
    {
        if (start < 0 || start + destination.Length > _tokens.Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"tokens [{start}, {start + destination.Length}) outside [0, {_tokens.Length})");
        var source = _tokens.AsSpan(checked((int)start), destination.Length);
        for (int i = 0; i < source.Length; i++) destination[i] = source[i];
    }
}
