using System.Text.RegularExpressions;

namespace LongContext.Formats.Tokenization;

/// <summary>One entry of tokenizer.json `added_tokens`.</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);

/// <summary>
/// HF's AddedVocabulary: added tokens are cut out of the text before the model sees it, leftmost-longest, with
/// single_word / lstrip / rstrip applied as tokenizers' find_matches does. Tokens with normalized=false are matched on
/// the raw text; normalized ones on each remaining piece after normalization.
/// </summary>
internal sealed class AddedVocabulary
{
    private static readonly Regex WordChar = new(@"\w", RegexOptions.CultureInvariant);
    private readonly Trie _raw = new();
    private readonly Trie _normalized = new();
    private readonly Dictionary<int, AddedToken> _byId = new();
    private readonly Dictionary<string, AddedToken> _byContent = new(StringComparer.Ordinal);

    public AddedVocabulary(IEnumerable<AddedToken> tokens)
    {
        foreach (var t in tokens)
        {
            _byId[t.Id] = t;
            _byContent[t.Content] = t;
            if (t.Content.Length == 0) continue;
            (t.Normalized ? _normalized : _raw).Add(t);
        }
    }

    public IReadOnlyCollection<AddedToken> Tokens => _byId.Values;
    public bool HasNormalizedTokens => _normalized.Count > 0;
    public AddedToken? ById(int id) => _byId.GetValueOrDefault(id);
    public AddedToken? ByContent(string content) => _byContent.GetValueOrDefault(content);

    /// <summary>A piece of text, or an added token (Id set) that bypasses the model.</summary>
    public readonly record struct Segment(string Text, int? Id);

    public void SplitRaw(string text, List<Segment> output) => Split(text, _raw, output);

    public void SplitNormalized(string text, List<Segment> output) => Split(text, _normalized, output);

    private static void Split(string text, Trie trie, List<Segment> output)
    {
        if (trie.Count == 0 || text.Length == 0)
        {
            output.Add(new Segment(text, null));
            return;
        }
        int startOffset = 0;
        int pos = 0;
        while (pos < text.Length)
        {
            var match = trie.LongestAt(text, pos);
            if (match is null)
            {
                pos++;
                continue;
            }
            int start = pos, stop = pos + match.Content.Length;
            pos = stop; // the next search starts after this match, as aho-corasick's non-overlapping find_iter
            if (match.SingleWord)
            {
                bool startSpace = start == 0 || !WordChar.IsMatch(text[start - 1].ToString());
                bool stopSpace = stop == text.Length || !WordChar.IsMatch(text[stop].ToString());
                if (!startSpace || !stopSpace) continue;
            }
            if (match.LStrip)
            {
                int newStart = start;
                while (newStart > 0 && char.IsWhiteSpace(text[newStart - 1])) newStart--;
                start = Math.Max(newStart, startOffset);
            }
            if (match.RStrip)
            {
                while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
            }
            if (startOffset < start) output.Add(new Segment(text[startOffset..start], null));
            output.Add(new Segment(match.Content, match.Id));
            startOffset = Math.Max(startOffset, stop);
        }
        if (startOffset < text.Length) output.Add(new Segment(text[startOffset..], null));
    }

    /// <summary>Char trie over token contents for leftmost-longest matching.</summary>
    private sealed class Trie
    {
        private sealed class Node
        {
            public Dictionary<char, Node>? Children;
            public AddedToken? Token;
        }

        private readonly Node _root = new();
        public int Count { get; private set; }

        public void Add(AddedToken token)
        {
            var node = _root;
            foreach (char c in token.Content)
            {
                node.Children ??= new Dictionary<char, Node>();
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            if (node.Token is null) Count++;
            node.Token = token;
        }

        public AddedToken? LongestAt(string text, int pos)
        {
            var node = _root;
            AddedToken? best = null;
            for (int i = pos; i < text.Length; i++)
            {
                if (node.Children is null || !node.Children.TryGetValue(text[i], out node)) break;
                if (node.Token is not null) best = node.Token;
            }
            return best;
        }
    }
}
