using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// A tokenizer.json regex run with HF (Oniguruma) semantics on code points. .NET regexes see UTF-16 code units, so
/// `\p{L}` misses astral letters and `[^\p{L}]?` would eat half an emoji; text with surrogate pairs is therefore
/// matched in a stand-in form where each astral code point is one BMP char of the same Unicode category.
/// </summary>
internal sealed class UnicodeRegex
{
    private static readonly char[] CategoryStandIns = BuildStandIns();
    private readonly Regex _regex;

    public UnicodeRegex(string pattern, string jsonPath)
    {
        Pattern = pattern;
        try
        {
            _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerException($"{jsonPath}: the regex cannot be compiled by .NET ({e.Message}); supported: .NET regex syntax (\\p{{L}}, \\p{{N}}, (?i:...), lookahead)");
        }
    }

    public string Pattern { get; }

    /// <summary>(start, length) of each non-empty match, in UTF-16 indices of <paramref name="text"/>.</summary>
    public List<(int Start, int Length)> Matches(string text)
    {
        var result = new List<(int, int)>();
        if (!HasSurrogates(text))
        {
            foreach (var m in _regex.EnumerateMatches(text))
                if (m.Length > 0) result.Add((m.Index, m.Length));
            return result;
        }
        var standIn = new StringBuilder(text.Length);
        var origin = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            origin.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]));
                standIn.Append(CategoryStandIns[(int)category]);
                i++;
            }
            else
            {
                standIn.Append(text[i]);
            }
        }
        origin.Add(text.Length);
        foreach (var m in _regex.EnumerateMatches(standIn.ToString()))
        {
            if (m.Length == 0) continue;
            int start = origin[m.Index], end = origin[m.Index + m.Length];
            result.Add((start, end - start));
        }
        return result;
    }

    private static bool HasSurrogates(string text)
    {
        foreach (char c in text)
            if (char.IsSurrogate(c)) return true;
        return false;
    }

    private static char[] BuildStandIns()
    {
        var standIns = new char[32];
        Array.Fill(standIns, '\uFFFD');
        var found = new bool[32];
        // Prefer non-ASCII BMP chars so patterns that name ASCII chars (contractions, \r\n) never see a stand-in.
        for (int c = 0xA1; c < 0xFFFE; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF) continue;
            int cat = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (found[cat] || char.IsWhiteSpace((char)c)) continue;
            found[cat] = true;
            standIns[cat] = (char)c;
        }
        return standIns;
    }
}
