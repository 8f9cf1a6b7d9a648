namespace LongContext.Formats.Tokenization;

/// <summary>
/// Incremental detokenization for streaming generation, as HF tokenizers' DecodeStream: each pushed id yields the
/// newly completed text, or null while the text so far ends inside a UTF-8 sequence (U+FFFD) or adds nothing.
/// Decodes a short window (the previous token onward), so each step costs O(window), and leading-space rules of
/// Metaspace/Strip decoders stay right. Not thread-safe: one per generation stream.
/// </summary>
public sealed class StreamDecoder
{
    private readonly ITextTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private List<int> _ids = [];
    private string _prefix = "";
    private int _prefixIndex;

    public StreamDecoder(ITextTokenizer tokenizer, bool skipSpecialTokens = true)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one generated id; returns the text it completes, or null if nothing is complete yet.</summary>
    public string? Push(int id)
    {
        _ids.Add(id);
        string text = DecodeWindow();
        if (text.Length <= _prefix.Length || text.EndsWith('\uFFFD')) return null;
        if (!text.StartsWith(_prefix, StringComparison.Ordinal))
            throw new TokenizerException("stream decoding: the decoded window no longer starts with the previous text (decoder is not prefix-stable)");
        string added = text[_prefix.Length..];
        int newPrefixIndex = _ids.Count - _prefixIndex;
        _ids = _ids.GetRange(_prefixIndex, _ids.Count - _prefixIndex);
        _prefix = DecodeWindow();
        _prefixIndex = newPrefixIndex;
        return added;
    }

    // Without transformers' clean-up, which is not prefix-stable (" " then " ." would become ".").
    private string DecodeWindow() => _tokenizer is HfTokenizer hf
        ? hf.Decode(_ids, _skipSpecialTokens, cleanUpTokenizationSpaces: false)
        : _tokenizer.Decode(_ids, _skipSpecialTokens);
}
