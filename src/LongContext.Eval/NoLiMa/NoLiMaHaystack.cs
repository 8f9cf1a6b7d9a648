using LongContext.Eval.Text;
using LongContext.Formats.Tokenization;

namespace LongContext.Eval.NoLiMa;

/// <summary>
/// A NoLiMa haystack book placed as its book_haystack.py does, with the evaluated model's tokenizer: the book is
/// tokenized once (no special tokens); line starts are the tokens whose text holds "\n". For depth d and context
/// length L the needle goes at the first line start p with p/(L+1) ≥ d, the window is tokens [p − round(L·d), +L),
/// the text before the needle is cut back to its last newline, and the needle is joined as " " + needle + "\n".
/// </summary>
public sealed class NoLiMaHaystack
{
    private readonly ITextTokenizer _tokenizer;
    private readonly int[] _ids;
    private readonly int[] _lineStarts;

    public string Name { get; }
    public int Tokens => _ids.Length;

    public NoLiMaHaystack(string path, ITextTokenizer tokenizer)
    {
        Name = Path.GetFileNameWithoutExtension(path);
        _tokenizer = tokenizer;
        _ids = tokenizer.Encode(File.ReadAllText(path), addSpecialTokens: false).ToArray();
        var starts = new List<int> { 0 };
        for (var i = 0; i < _ids.Length; i++)
            if (tokenizer.Decode([_ids[i]]).Contains('\n')) starts.Add(i);
        _lineStarts = starts.ToArray();
    }

    /// <summary>The haystack text of <paramref name="contextLength"/> tokens with <paramref name="needle"/> at <paramref name="depth"/> (0–1).</summary>
    public string Place(string needle, int contextLength, double depth, int shift = 0)
    {
        var closest = -1;
        var best = double.PositiveInfinity;
        for (var i = 0; i < _lineStarts.Length; i++)
        {
            var delta = (double)(_lineStarts[i] - shift) / (contextLength + 1) - depth;
            if (delta >= 0 && delta < best) { best = delta; closest = i; }
        }
        if (closest < 0) throw new EvalException($"NoLiMa haystack {Name}: no line start at depth {depth:0.###} for {contextLength} tokens; the book ({_ids.Length} tokens) is too short.");
        var at = _lineStarts[closest];
        var start = at - (int)Math.Round(contextLength * depth, MidpointRounding.ToEven);
        var end = start + contextLength;
        if (start < 0 || end > _ids.Length)
            throw new EvalException($"NoLiMa haystack {Name}: a {contextLength}-token window at depth {depth:0.###} runs past the book ({_ids.Length} tokens of this tokenizer); use a shorter length.");
        var pre = _tokenizer.Decode(new ArraySegment<int>(_ids, start, at + 1 - start));
        pre = pre[..Math.Max(pre.LastIndexOf('\n'), 0)];
        var post = _tokenizer.Decode(new ArraySegment<int>(_ids, at + 1, Math.Max(0, end - at - 1)));   // empty at depth 1, as Python's slice
        return pre + " " + needle + "\n" + post;
    }

    /// <summary>
    /// book_haystack.py with a distractor: the distractor's own placement at <paramref name="distractorDepth"/> gives the
    /// ~50 characters before it (25 below 500 tokens), found again in the needle's text, where the distractor is
    /// inserted 49 (23) characters into that span as " " + distractor + "\n".
    /// </summary>
    public string PlaceWithDistractor(string needle, string distractor, int contextLength, double depth, double distractorDepth)
    {
        var withDistractor = Place(distractor, contextLength, distractorDepth);
        var at = withDistractor.IndexOf(distractor, StringComparison.Ordinal);
        var back = contextLength < 500 ? 25 : 50;
        var spanStart = Math.Max(at - back, 0);
        var span = withDistractor[spanStart..(at - 1)];
        var text = Place(needle, contextLength, depth);
        var found = text.IndexOf(span, StringComparison.Ordinal);
        if (found < 0 || text.IndexOf(span, found + Math.Max(span.Length, 1), StringComparison.Ordinal) >= 0)   // str.count: non-overlapping
            throw new EvalException($"NoLiMa haystack {Name}: the text before the distractor is {(found < 0 ? "not in" : "repeated in")} the needle's window (as in book_haystack.py, which raises here).");
        var insert = Math.Min(found + (contextLength >= 500 ? 49 : 23), text.Length);   // Python slices clamp
        return text[..insert] + " " + distractor + "\n" + text[insert..];
    }

    /// <summary>The distractor's depth as book_haystack.py draws it: uniform outside a free zone of 0.2 around the needle; fixed below 500 tokens.</summary>
    public static double DistractorDepth(NumpyLegacyRandom rng, int contextLength, double depth, double freeZone = 0.2)
    {
        var left = Math.Max(0, depth - 2 * freeZone);
        var right = Math.Max(0, 1 - (depth + 2 * freeZone));
        var d = rng.Uniform(0, left + right);
        d = d > left ? depth + freeZone + (d - left) : d + freeZone;
        if (contextLength < 500) d = depth < 0.6 ? 0.7 : depth > 0.75 ? 0.6 : 0.5;
        return d;
    }
}
