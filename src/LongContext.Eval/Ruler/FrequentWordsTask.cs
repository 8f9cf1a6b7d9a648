using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// RULER's freq_words_extraction.py (main, c3f5e3b): a vocabulary of (length − 50) // 50 random 6-letter "coded words"
/// (sorted, shuffled, the first replaced by the noise "..."), word k repeated int(n·k^-α/ζ(α)) times, shuffled; the
/// answer is ranks 2–4. RULER fits n by a linear search, not a binary one: from (length − 50) // 6 words it adds
/// (length − 50) // 32 words until the prompt reaches length − 50 tokens, then steps back once; every sample then
/// uses that n, stepping down while its own prompt is longer. The coarse step is RULER's, so fill matches RULER's.
/// </summary>
public sealed class FrequentWordsTask(string name, double alpha) : RulerTask(name, RulerTemplates.FweTokens, MatchMetric.All)
{
    private const int WordLength = 6;
    private readonly double _zeta = Zeta(alpha);
    private readonly Dictionary<(int, PromptMeasurer), int> _words = [];

    public override RulerTaskStatus Status => new(Name, true, true, "built in (random coded words)");

    protected override int Incremental(int length) => Math.Max(1, (length - MaxNewTokens) / 32);

    /// <summary>Riemann ζ(s), s &gt; 1, by direct summation with an Euler–Maclaurin tail (≈1e-15 relative).</summary>
    private static double Zeta(double s)
    {
        const int n = 100_000;
        var sum = 0.0;
        for (var k = n; k >= 1; k--) sum += Math.Pow(k, -s);
        return sum + Math.Pow(n, 1 - s) / (s - 1) - 0.5 * Math.Pow(n, -s);
    }

    private List<string> Vocabulary(Random rng, int size)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (seen.Count < size) seen.Add(new string(Enumerable.Range(0, WordLength).Select(_ => (char)('a' + rng.Next(26))).ToArray()));
        var vocab = seen.Order(StringComparer.Ordinal).ToList();
        rng.ShuffleInPlace(vocab);
        vocab[0] = "...";
        return vocab;
    }

    private RulerPrompt Text(List<string> vocab, int numWords, Random shuffle)
    {
        var words = new List<string>();
        for (var k = 1; k <= vocab.Count; k++)
        {
            var count = (int)(numWords * Math.Pow(k, -alpha) / _zeta);
            for (var i = 0; i < count; i++) words.Add(vocab[k - 1]);
        }
        shuffle.ShuffleInPlace(words);
        return new RulerPrompt(RulerTemplates.Fill(RulerTemplates.FweTemplate, ("context", string.Join(' ', words))), RulerTemplates.FweAnswerPrefix, vocab.GetRange(1, 3));
    }

    private int Tokens(RulerPrompt p, PromptMeasurer m) => m.Count(p.Request);

    /// <summary>RULER's shuffles use random.Random(seed), the same order for every text of a run: a fixed stream here too.</summary>
    private Random Shuffle(int seed) => new(RandomExtensions.MixSeed(seed, Name, "shuffle"));

    protected override RulerPrompt Build(int size, Random rng, int length, int index, PromptMeasurer measurer) =>
        Text(Vocabulary(rng, Math.Max(4, (length - MaxNewTokens) / 50)), size, Shuffle(0));

    public override RulerSample Generate(int length, int index, int seed, PromptMeasurer measurer)
    {
        var maxLen = length - MaxNewTokens;
        var incremental = Incremental(length);
        var vocabSize = Math.Max(4, maxLen / 50);
        int numWords;
        lock (_words)
        {
            if (!_words.TryGetValue((length, measurer), out numWords))
            {
                var vocab = Vocabulary(Rng(seed, length, -1), vocabSize);
                numWords = maxLen / WordLength;
                while (Tokens(Text(vocab, numWords, Shuffle(seed)), measurer) < maxLen) numWords += incremental;
                numWords -= incremental;
                _words[(length, measurer)] = numWords;
            }
        }
        var sampleVocab = Vocabulary(Rng(seed, length, index), vocabSize);
        while (true)
        {
            var p = Text(sampleVocab, numWords, Shuffle(seed));
            var tokens = Tokens(p, measurer);
            if (tokens <= maxLen) return Sample(length, index, p, tokens, numWords);
            numWords -= incremental;
            if (numWords <= 0) throw new EvalException($"RULER task {Name} cannot fit {length} tokens: the template alone plus {MaxNewTokens} answer tokens is longer; use a larger --lengths value.");
        }
    }
}
