using System.Security.Cryptography;
using LongContext.Eval.Ruler;

namespace LongContext.Eval.Text;

/// <summary>
/// Words for keys (RULER's "{adjective}-{noun}", e.g. "tenuous-hospice") and for CWE (nouns + adjectives + verbs). RULER
/// takes them from the wonderwords package (MIT); we ship none. Sources: the wonderwords assets folder
/// (nounlist.txt, adjectivelist.txt, verblist.txt; comparable when their SHA-256 match a wonderwords release RULER
/// installs, see <see cref="RulerProvenance"/>), a single word file (keys are then any two of its words), or pronounceable
/// pseudo-words generated from a seed. Only the first is RULER's data (<see cref="Comparable"/>).
/// </summary>
public sealed class WordPool
{
    public IReadOnlyList<string> Adjectives { get; }
    public IReadOnlyList<string> Nouns { get; }
    /// <summary>CWE's pool: RULER's <c>sorted(set(nouns + adjs + verbs))</c>.</summary>
    public IReadOnlyList<string> Words { get; }
    public bool Comparable { get; }
    /// <summary>Where the words came from, with the reason they are or are not RULER's (for manifests and reports).</summary>
    public string Source { get; }

    private WordPool(IReadOnlyList<string> adjectives, IReadOnlyList<string> nouns, IReadOnlyList<string> verbs, bool comparable, string source)
    {
        (Adjectives, Nouns, Comparable, Source) = (adjectives, nouns, comparable, source);
        Words = adjectives.Concat(nouns).Concat(verbs).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>--words PATH: the wonderwords assets folder, or one text file of words (one a line).</summary>
    public static WordPool Load(string path) => Directory.Exists(path) ? FromWonderwords(path) : FromFile(path);

    /// <summary>A folder holding wonderwords' nounlist.txt, adjectivelist.txt and verblist.txt (read as wonderwords does: each line right-stripped).</summary>
    public static WordPool FromWonderwords(string dir)
    {
        string[] names = ["adjectivelist.txt", "nounlist.txt", "verblist.txt"];
        var lists = new List<List<string>>();
        var hashes = new List<string>();
        foreach (var name in names)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new EvalException($"--words {dir}: no {name}; give wonderwords' assets folder (nounlist.txt, adjectivelist.txt, verblist.txt) or a word file.");
            var bytes = File.ReadAllBytes(path);
            hashes.Add(Convert.ToHexStringLower(SHA256.HashData(bytes)));
            lists.Add(System.Text.Encoding.UTF8.GetString(bytes).Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList());
        }
        if (lists.Any(l => l.Count < 50)) throw new EvalException($"--words {dir}: the word lists are nearly empty; give wonderwords' assets folder.");
        var release = RulerProvenance.WonderwordsRelease(hashes[0], hashes[1], hashes[2]);
        var source = release is null
            ? $"{dir} (wonderwords-style lists whose SHA-256 match no wonderwords release RULER uses)"
            : $"{dir} (wonderwords {release}, SHA-256 verified)";
        return new WordPool(lists[0], lists[1], lists[2], release is not null, source);
    }

    public static WordPool FromFile(string path)
    {
        if (!File.Exists(path)) throw new EvalException($"--words {path}: file not found; give wonderwords' assets folder or a text file with one word per line.");
        var words = File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.Contains(' '))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        if (words.Count < 100) throw new EvalException($"--words {path}: only {words.Count} distinct words; need at least 100.");
        return new WordPool(words, words, [], false, $"{path} (one word list, not wonderwords' adjective/noun/verb lists: keys are any two words)");
    }

    private static readonly string[] Onsets = ["b", "br", "c", "ch", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pl", "pr", "r", "s", "sh", "sl", "st", "t", "th", "tr", "v", "w", "z"];
    private static readonly string[] Nuclei = ["a", "e", "i", "o", "u", "ai", "ea", "oo", "ou", "ie"];
    private static readonly string[] Codas = ["", "", "n", "r", "l", "m", "s", "t", "nd", "st", "ck", "ng"];

    /// <summary>Distinct pseudo-words of 2–3 syllables, deterministic for a seed; the first eighth serve as "adjectives" (wonderwords' proportion), the rest as nouns.</summary>
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
        var adjectives = Math.Max(1, count / 8);
        return new WordPool(list[..adjectives], list[adjectives..], [], false, $"generated({count}, seed {seed}; not wonderwords)");
    }

    /// <summary>A key like RULER's "tenuous-hospice": an adjective and a noun joined by a hyphen.</summary>
    public string Key(Random rng) => Adjectives[rng.Next(Adjectives.Count)] + "-" + Nouns[rng.Next(Nouns.Count)];

    /// <summary><paramref name="count"/> pool words for CWE, sampled without replacement; past the pool's end, generated words pad it (non-comparable).</summary>
    public IReadOnlyList<string> Sample(Random rng, int count, out bool padded)
    {
        padded = count > Words.Count;
        if (!padded) return rng.SampleIndices(Words.Count, count).Select(i => Words[i]).ToList();
        var extra = Padding(count - Words.Count);
        var all = Words.Concat(extra).ToList();
        return rng.SampleIndices(all.Count, count).Select(i => all[i]).ToList();
    }

    private readonly Dictionary<int, List<string>> _padding = [];

    private List<string> Padding(int n)
    {
        lock (_padding)
        {
            if (_padding.TryGetValue(n, out var p)) return p;
            var seen = new HashSet<string>(Words, StringComparer.Ordinal);
            p = Generated(n * 2 + 64, seed: 99).Words.Where(seen.Add).Take(n).ToList();
            _padding[n] = p;
            return p;
        }
    }
}
