using System.Text.Json;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// tokenizer.json `pre_tokenizer`: splits normalized text into pre-tokens (words) that BPE encodes independently.
/// Each pre-tokenizer maps every current piece to its sub-pieces, as HF's PreTokenizedString.split does.
/// </summary>
internal abstract class PreTokenizer
{
    /// <summary>GPT-2's pattern, used by ByteLevel when use_regex is true.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Appends the sub-pieces of one piece; atStart: the piece begins at offset 0 of the input.</summary>
    public abstract void Split(string piece, bool atStart, List<string> output);

    /// <summary>Splits every piece; only the first piece can be at the input's start.</summary>
    public List<string> PreTokenize(List<string> pieces, bool firstAtStart)
    {
        var output = new List<string>(pieces.Count * 2);
        for (int i = 0; i < pieces.Count; i++) Split(pieces[i], firstAtStart && i == 0, output);
        return output;
    }

    public static PreTokenizer? FromJson(JsonElement json, string path)
    {
        if (json.ValueKind == JsonValueKind.Null) return null;
        string type = TokenizerJson.RequiredString(json, "type", path);
        switch (type)
        {
            case "Sequence":
                return new Sequence(TokenizerJson.RequiredArray(json, "pretokenizers", path)
                    .Select((p, i) => FromJson(p, $"{path}.pretokenizers[{i}]")).OfType<PreTokenizer>().ToArray());
            case "Split":
            {
                string behavior = TokenizerJson.RequiredString(json, "behavior", path);
                var regex = TokenizerJson.RegexPattern(json, path);
                return new RegexSplit(regex, ParseBehavior(behavior, $"{path}.behavior"), TokenizerJson.Bool(json, "invert", false));
            }
            case "ByteLevel":
                return new ByteLevel(TokenizerJson.Bool(json, "add_prefix_space", true), TokenizerJson.Bool(json, "use_regex", true), path);
            case "Metaspace":
            {
                string replacement = TokenizerJson.OptionalString(json, "replacement") ?? "▁";
                string scheme = TokenizerJson.OptionalString(json, "prepend_scheme")
                    ?? (TokenizerJson.Bool(json, "add_prefix_space", true) ? "always" : "never");
                if (scheme is not ("always" or "first" or "never"))
                    throw new TokenizerException($"{path}.prepend_scheme: '{scheme}' is not supported; supported: always, first, never");
                return new Metaspace(replacement, scheme, TokenizerJson.Bool(json, "split", true));
            }
            default:
                throw new TokenizerException(
                    $"{path}.type: pre-tokenizer '{type}' is not supported; supported: Sequence, Split (Regex or String pattern), ByteLevel, Metaspace");
        }
    }

    internal enum Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

    private static Behavior ParseBehavior(string behavior, string path) => behavior switch
    {
        "Removed" => Behavior.Removed,
        "Isolated" => Behavior.Isolated,
        "MergedWithPrevious" => Behavior.MergedWithPrevious,
        "MergedWithNext" => Behavior.MergedWithNext,
        "Contiguous" => Behavior.Contiguous,
        _ => throw new TokenizerException($"{path}: '{behavior}' is not supported; supported: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous"),
    };

    /// <summary>HF's NormalizedString::split: matches and the gaps between them, combined by behavior.</summary>
    internal static void SplitByMatches(string piece, List<(int Start, int Length)> matches, Behavior behavior, bool invert, List<string> output)
    {
        // (start, end, isMatch) covering the whole piece.
        var spans = new List<(int Start, int End, bool IsMatch)>(matches.Count * 2 + 1);
        int pos = 0;
        foreach (var (start, length) in matches)
        {
            if (start > pos) spans.Add((pos, start, invert));
            spans.Add((start, start + length, !invert));
            pos = start + length;
        }
        if (pos < piece.Length) spans.Add((pos, piece.Length, invert));

        switch (behavior)
        {
            case Behavior.Removed:
                foreach (var s in spans) if (!s.IsMatch) output.Add(piece[s.Start..s.End]);
                break;
            case Behavior.Isolated:
                foreach (var s in spans) output.Add(piece[s.Start..s.End]);
                break;
            case Behavior.Contiguous:
            {
                int i = 0;
                while (i < spans.Count)
                {
                    int j = i;
                    while (j + 1 < spans.Count && spans[j + 1].IsMatch == spans[i].IsMatch) j++;
                    output.Add(piece[spans[i].Start..spans[j].End]);
                    i = j + 1;
                }
                break;
            }
            case Behavior.MergedWithPrevious:
            {
                int start = -1;
                foreach (var s in spans)
                {
                    if (start < 0) start = s.Start;
                    if (s.IsMatch)
                    {
                        output.Add(piece[start..s.End]);
                        start = -1;
                    }
                }
                if (start >= 0) output.Add(piece[start..]);
                break;
            }
            case Behavior.MergedWithNext:
            {
                int start = -1;
                foreach (var s in spans)
                {
                    if (s.IsMatch && start >= 0)
                    {
                        output.Add(piece[start..s.Start]);
                        start = -1;
                    }
                    if (start < 0) start = s.Start;
                }
                if (start >= 0) output.Add(piece[start..]);
                break;
            }
        }
    }

    private sealed class Sequence(PreTokenizer[] parts) : PreTokenizer
    {
        public override void Split(string piece, bool atStart, List<string> output)
        {
            var current = new List<string> { piece };
            foreach (var p in parts) current = p.PreTokenize(current, atStart);
            output.AddRange(current);
        }
    }

    private sealed class RegexSplit(UnicodeRegex regex, Behavior behavior, bool invert) : PreTokenizer
    {
        public override void Split(string piece, bool atStart, List<string> output) =>
            SplitByMatches(piece, regex.Matches(piece), behavior, invert, output);
    }

    /// <summary>Optional prefix space, optional GPT-2 regex split, then each piece's UTF-8 bytes as alphabet chars.</summary>
    private sealed class ByteLevel(bool addPrefixSpace, bool useRegex, string path) : PreTokenizer
    {
        private readonly UnicodeRegex? _regex = useRegex ? new UnicodeRegex(Gpt2Pattern, path) : null;

        public override void Split(string piece, bool atStart, List<string> output)
        {
            if (addPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
            if (_regex is null)
            {
                output.Add(ByteLevelAlphabet.Encode(piece));
                return;
            }
            foreach (var (start, length) in _regex.Matches(piece))
                output.Add(ByteLevelAlphabet.Encode(piece.Substring(start, length)));
        }
    }

    /// <summary>Spaces become the replacement char (▁), prepended per scheme; with split, pieces start at each ▁.</summary>
    private sealed class Metaspace(string replacement, string scheme, bool split) : PreTokenizer
    {
        public override void Split(string piece, bool atStart, List<string> output)
        {
            string text = piece.Replace(" ", replacement, StringComparison.Ordinal);
            bool prepend = scheme == "always" || (scheme == "first" && atStart);
            if (prepend && !text.StartsWith(replacement, StringComparison.Ordinal)) text = replacement + text;
            if (!split)
            {
                output.Add(text);
                return;
            }
            var matches = new List<(int, int)>();
            for (int i = text.IndexOf(replacement, StringComparison.Ordinal); i >= 0; i = text.IndexOf(replacement, i + replacement.Length, StringComparison.Ordinal))
                matches.Add((i, replacement.Length));
            SplitByMatches(text, matches, Behavior.MergedWithNext, false, output);
        }
    }
}
