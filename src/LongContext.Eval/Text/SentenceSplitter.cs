using System.Text.RegularExpressions;

namespace LongContext.Eval.Text;

/// <summary>
/// Rule-based English sentence splitter (stands in for NLTK punkt): a sentence ends at . ! or ? (plus closing quotes or
/// brackets) followed by whitespace and an upper-case letter, digit or opening quote, unless the word before the period
/// is a common abbreviation or a single initial.
/// </summary>
public static partial class SentenceSplitter
{
    private static readonly HashSet<string> Abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co", "corp", "fig", "no", "vol", "approx", "dept", "est", "u.s", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    };

    [GeneratedRegex(@"[.!?]+[""')\]]*(?=\s+[""'(\[]?[A-Z0-9])")]
    private static partial Regex Boundary();

    public static List<string> Split(string text)
    {
        var result = new List<string>();
        var start = 0;
        foreach (Match m in Boundary().Matches(text))
        {
            var end = m.Index + m.Length;
            if (text[m.Index] == '.' && IsAbbreviation(text, m.Index)) continue;
            var s = text[start..end].Trim();
            if (s.Length > 0) result.Add(s);
            start = end;
        }
        var tail = text[start..].Trim();
        if (tail.Length > 0) result.Add(tail);
        return result;
    }

    private static bool IsAbbreviation(string text, int dot)
    {
        var i = dot;
        while (i > 0 && !char.IsWhiteSpace(text[i - 1])) i--;
        var word = text[i..dot].TrimStart('(', '"', '\'');
        return (word.Length == 1 && char.IsUpper(word[0])) || Abbreviations.Contains(word);
    }
}
