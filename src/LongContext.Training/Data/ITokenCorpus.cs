namespace LongContext.Training.Data;

/// <summary>
/// Tokenized documents laid end to end: document d occupies tokens [DocumentStart(d), DocumentStart(d + 1)).
/// Implemented by the memory-mapped <see cref="TokenCache"/> and by <see cref="InMemoryTokenCorpus"/>.
/// </summary>
public interface ITokenCorpus
{
    long DocumentCount { get; }
    long TokenCount { get; }

    /// <summary>Offset of the document's first token; DocumentStart(DocumentCount) == TokenCount.</summary>
    long DocumentStart(long document);

    /// <summary>Copies tokens [start, start + destination.Length) into destination.</summary>
    void CopyTokens(long start, Span<long> destination);
}

/// <summary>Helpers over any corpus.</summary>
public static class TokenCorpusExtensions
{
    public static int DocumentLength(this ITokenCorpus corpus, long document) =>
        checked((int)(corpus.DocumentStart(document + 1) - corpus.DocumentStart(document)));

    /// <summary>The document holding token <paramref name="token"/> (binary search over document starts).</summary>
    public static long DocumentAt(this ITokenCorpus corpus, long token)
    {
        long lo = 0, hi = corpus.DocumentCount - 1;
        while (lo < hi)
        {
            long mid = lo + (hi - lo + 1) / 2;
            if (corpus.DocumentStart(mid) <= token) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>The tokens of one document.</summary>
    public static long[] ReadDocument(this ITokenCorpus corpus, long document)
    {
        var tokens = new long[corpus.DocumentLength(document)];
        corpus.CopyTokens(corpus.DocumentStart(document), tokens);
        return tokens;
    }
}
