using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// RULER's freq_words_extraction.py: random 6-letter "coded words" with Zipf counts num_words·k^-α/ζ(α); the most frequent
/// is the noise "...", the answer is ranks 2–4. vocab_size = (length − template tokens − 50) / 50.
/// RULER searches the word count linearly; we binary-search it.
/// </summary>
public sealed class FrequentWordsTask(string name, double alpha) : RulerTask(name, RulerTemplates.FweTokens, MatchMetric.All)
{
    public override RulerTaskStatus Status => new(Name, true, true, "built in (random coded words)");

    protected override int Incremental(int length) => Math.Max(1, length / 32);
    protected override int MinSize => 10;

    private readonly double _zeta = Zeta(alpha);

    private static double Zeta(double s)
    {
        var sum = 0.0;
        for (var k = 1; k <= 100_000; k++) sum += Math.Pow(k, -s);
        return sum + Math.Pow(100_000, 1 - s) / (s - 1);
    }

    protected override (string, string, IReadOnlyList<string>) Build(int size, Random rng, int length, int index)
    {
        const int templateTokens = 100;
        var vocabSize = Math.Max(5, (length - templateTokens - 50) / 50);
        var vocab = new List<string> { "..." };
        var seen = new HashSet<string>();
        while (vocab.Count < vocabSize)
        {
            var w = new string(Enumerable.Range(0, 6).Select(_ => (char)('a' + rng.Next(26))).ToArray());
            if (seen.Add(w)) vocab.Add(w);
        }
        var zeta = _zeta;
        var words = new List<string>();
        for (var k = 1; k <= vocab.Count; k++)
        {
            var count = (int)(size * Math.Pow(k, -alpha) / zeta);
            for (var i = 0; i < count; i++) words.Add(vocab[k - 1]);
        }
        rng.ShuffleInPlace(words);
        var input = RulerTemplates.Fill(RulerTemplates.FweTemplate, ("context", string.Join(' ', words)));
        return (input, RulerTemplates.FweAnswerPrefix, vocab.GetRange(1, 3));
    }
}
