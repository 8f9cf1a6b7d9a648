using System.Text.RegularExpressions;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Eval;

/// <summary>
/// Deterministic word-level tokenizer for tests: special tokens like &lt;|eot_id|&gt;, runs of whitespace, words and single
/// punctuation marks are one token each; ids are assigned on first sight. Decode(Encode(x)) == x.
/// </summary>
public sealed partial class TestTokenizer : ITextTokenizer
{
    [GeneratedRegex(@"<\|[a-z_]+\|>|\s+|\w+|[^\w\s]")]
    private static partial Regex Piece();

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _pieces = [];

    public TestTokenizer() => Id("<|eot_id|>");

    public int VocabSize { get { lock (_ids) return _pieces.Count; } }
    public int? BosTokenId => null;
    public int? EosTokenId => 0;

    private int Id(string piece)
    {
        lock (_ids)
        {
            if (_ids.TryGetValue(piece, out var id)) return id;
            _ids[piece] = _pieces.Count;
            _pieces.Add(piece);
            return _pieces.Count - 1;
        }
    }

    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true) => Piece().Matches(text).Select(m => Id(m.Value)).ToList();

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        lock (_ids)
            return string.Concat(ids.Select(i => _pieces[i]).Where(p => !(skipSpecialTokens && p.StartsWith("<|", StringComparison.Ordinal))));
    }

    public int? TokenToId(string token) { lock (_ids) return _ids.TryGetValue(token, out var id) ? id : null; }

    public int Count(string text) => Piece().Matches(text).Count;
}
