namespace LongContext.Eval.Text;

/// <summary>
/// Words for keys (RULER's "{adjective}-{noun}") and for CWE. RULER uses the wonderwords lists (MIT); we ship none: either
/// the user's --words file (one word a line) or pronounceable pseudo-words generated from a seed, which makes the
/// affected tasks non-comparable with published numbers (<see cref="Comparable"/> false).
/// </summary>
public sealed class WordPool
{
    public IReadOnlyList<string> Words { get; }
    public bool Comparable { get; }
    public string Source { get; }

    private WordPool(IReadOnlyList<string> words, bool comparable, string source) => (Words, Comparable, Source) = (words, comparable, source);

    public static WordPool FromFile(string path)
    {
        if (!File.Exists(path)) throw new EvalException($"--words {path}: file not found; give a text file with one word per line.");
        var words = File.ReadLines(path).Select(l => l.Trim().ToLowerInvariant()).Where(l => l.Length > 0 && !l.Contains(' '))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        if (words.Count < 100) throw new EvalException($"--words {path}: only {words.Count} distinct words; need at least 100.");
        return new WordPool(words, true, path);
    }

    private static readonly string[] Onsets = ["b", "br", "c", "ch", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pl", "pr", "r", "s", "sh", "sl", "st", "t", "th", "tr", "v", "w", "z"];
    private static readonly string[] Nuclei = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou", "ie"];
    private static readonly string[] Codas = ["", "", "n", "r", "l", "m", "s", "t", "nd", "st", "ck", "ng"];

    /// <summary>Distinct pseudo-words of 2–3 syllables, deterministic for a seed.</summary>
    public static WordPool Generated(int count, int seed = 1234)
    {
        var rng = new Random(seed);
        var set = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<string>(count);
        while (list.Count < count)
        {
            var syl = rng.Next(2, 4);
            var w = string.Concat(Enumerable.Range(0, syl).Select(_ => Onsets[rng.Next(Onsets.Length)] + Nuclei[rng.Next(Nuclei.Length)])) + Codas[rng.Next(Codas.Length)];
            if (set.Add(w)) list.Add(w);
        }
        return new WordPool(list, false, $"generated({count}, seed {seed})");
    }

    /// <summary>A key like RULER's "tenuous-hospice": two pool words joined by a hyphen.</summary>
    public string Key(Random rng) => Words[rng.Next(Words.Count)] + "-" + Words[rng.Next(Words.Count)];
}
