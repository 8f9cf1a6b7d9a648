using System.Text.RegularExpressions;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Eval;

/// <summary>
/// The word tokenizer of the RULER fixtures (tools/fixtures/ruler/stubs/transformers, WORD_PATTERN; the fixture records
/// the pattern and <see cref="RulerParityTests"/> checks it is this one): a word with its leading space, digits in
/// threes, punctuation runs and &lt;|special|&gt; tokens whole, so counts are Llama-3-like. Ids on first sight;
/// Decode(Encode(x)) == x.
/// </summary>
public sealed partial class RegexWordTokenizer : ITextTokenizer
{
    public const string Pattern = @"<\|[a-z_]+\|>|'(?:s|t|re|ve|m|ll|d)| ?[A-Za-z]+| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Pattern)]
    private static partial Regex Piece();

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _pieces = [];

    public RegexWordTokenizer() => Id("<|eot_id|>");

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
}
