using System.Text.RegularExpressions;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Eval;

/// <summary>
/// A test tokenizer whose tokens are the matches of a regex (every character belongs to one); ids are assigned on first
/// sight, &lt;|…|&gt; pieces count as special. Decode(Encode(x)) == x.
/// </summary>
public abstract class PieceTokenizer : ITextTokenizer
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _pieces = [];

    protected PieceTokenizer() => Id("<|eot_id|>");

    protected abstract Regex Pieces { get; }

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

    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true) => Pieces.Matches(text).Select(m => Id(m.Value)).ToList();

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        lock (_ids)
            return string.Concat(ids.Select(i => _pieces[i]).Where(p => !(skipSpecialTokens && p.StartsWith("<|", StringComparison.Ordinal))));
    }

    public int? TokenToId(string token) { lock (_ids) return _ids.TryGetValue(token, out var id) ? id : null; }

    public int Count(string text) => Pieces.Matches(text).Count;
}
