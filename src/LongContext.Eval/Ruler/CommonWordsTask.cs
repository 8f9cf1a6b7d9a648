using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// RULER's common_words_extraction.py: a numbered list where 10 words appear freq_cw (30) times and the rest freq_ucw (3)
/// times; the answer is the 10 common words. One few-shot example (40 words, 10 common ×10, others ×3) is prepended;
/// below 4096 tokens the example uses (20 words, 10 common ×3, others ×1) and the main list (×6, ×1), as RULER does.
/// </summary>
public sealed class CommonWordsTask(string name, RulerData data, int freqCw = 30, int freqUcw = 3, int numCw = 10)
    : RulerTask(name, RulerTemplates.CweTokens, MatchMetric.All)
{
    private readonly List<string> _extra = [];

    public override RulerTaskStatus Status => data.Words.Comparable
        ? new(Name, true, true, $"words from {data.Words.Source}; pool extended with generated words beyond its size")
        : new(Name, true, false, "generated word pool (give --words FILE with the wonderwords noun/adjective/verb lists for comparable numbers)");

    protected override int Incremental(int length) => Math.Max(1, length / 64);
    protected override int MinSize => numCw + 1;

    private IReadOnlyList<string> Pool(int needed)
    {
        var pool = data.Words.Words;
        if (needed <= pool.Count) return pool;
        lock (_extra)
        {
            if (pool.Count + _extra.Count < needed)
            {
                var seen = new HashSet<string>(pool);
                _extra.Clear();
                foreach (var w in WordPool.Generated(needed * 2, seed: 99).Words) { if (seen.Add(w)) _extra.Add(w); }
            }
            return pool.Concat(_extra).ToList();
        }
    }

    private (string Context, List<string> Common) List(Random rng, int numWords, int common, int freqC, int freqU)
    {
        var pool = Pool(numWords);
        var chosen = rng.SampleIndices(pool.Count, numWords).Select(i => pool[i]).ToList();
        var cw = chosen.Take(common).ToList();
        var words = new List<string>();
        foreach (var w in cw) for (var i = 0; i < freqC; i++) words.Add(w);
        foreach (var w in chosen.Skip(common)) for (var i = 0; i < freqU; i++) words.Add(w);
        rng.ShuffleInPlace(words);
        return (string.Join(' ', words.Select((w, i) => $"{i + 1}. {w}")), cw);
    }

    protected override (string, string, IReadOnlyList<string>) Build(int size, Random rng, int length, int index)
    {
        var small = length < 4096;
        var (exCtx, exAns) = small ? List(rng, 20, numCw, 3, 1) : List(rng, 40, numCw, 10, 3);
        var example = RulerTemplates.Fill(RulerTemplates.CweTemplate, ("context", exCtx)) + RulerTemplates.CweAnswerPrefix + " "
            + string.Join(' ', exAns.Select((w, i) => $"{i + 1}. {w}")) + "\n";
        var (ctx, cw) = small ? List(rng, size, numCw, 6, 1) : List(rng, size, numCw, freqCw, freqUcw);
        return (example + RulerTemplates.Fill(RulerTemplates.CweTemplate, ("context", ctx)), RulerTemplates.CweAnswerPrefix, cw);
    }
}
