using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// RULER's common_words_extraction.py (main, c3f5e3b): a numbered list where 10 words appear freq_cw (30) times and the
/// rest freq_ucw (3) times; the answer is the 10 common words. One solved example (40 words: 10 common ×10, others ×3)
/// comes first as its own turn: RULER renders it with the full model template and answer prefix, appends the numbered
/// answer and "\n", then the task (a user + assistant turn with a chat template; plain text with "base"). Below 4096
/// tokens the example is (20 words, ×3, ×1) and the list (×6, ×1). The word count is binary-searched from a 4096-word
/// probe with upper bound int(budget // tokens-per-word)·2; each sample backs off 10 words.
/// Past the word pool (wonderwords: ~8.7K words; RULER then switches to an unlicensed english_words.json) the pool is
/// padded with generated words and the item is marked non-comparable.
/// </summary>
public sealed class CommonWordsTask(string name, RulerData data, int freqCw = 30, int freqUcw = 3, int numCw = 10)
    : RulerTask(name, RulerTemplates.CweTokens, MatchMetric.All)
{
    public override RulerTaskStatus Status => data.Words.Comparable
        ? new(Name, true, true, $"words from {data.Words.Source}; beyond its {data.Words.Words.Count:N0} words generated words pad the pool (those items are marked non-comparable)")
        : new(Name, true, false, $"words from {data.Words.Source} (give --words with wonderwords' assets folder for comparable numbers)");

    protected override int Incremental(int length) => 10;
    protected override int ProbeSize(int length) => 4096;
    protected override int UpperBound(int length, double tokensPerUnit) => (int)Math.Floor(length / tokensPerUnit) * 2;

    private (string Context, List<string> Common, bool Padded) List(Random rng, int numWords, int freqC, int freqU)
    {
        var chosen = data.Words.Sample(rng, numWords, out var padded);
        var cw = chosen.Take(numCw).ToList();
        var words = new List<string>();
        for (var i = 0; i < freqC; i++) words.AddRange(cw);
        for (var i = 0; i < freqU; i++) words.AddRange(chosen.Skip(numCw));
        rng.ShuffleInPlace(words);
        return (string.Join(' ', words.Select((w, i) => $"{i + 1}. {w}")), cw, padded);
    }

    private static string Numbered(IEnumerable<string> words) => string.Join(' ', words.Select((w, i) => $"{i + 1}. {w}"));

    protected override RulerPrompt Build(int size, Random rng, int length, int index, PromptMeasurer measurer)
    {
        var small = length < 4096;
        var (exCtx, exAns, _) = small ? List(rng, 20, 3, 1) : List(rng, 40, 10, 3);
        var (ctx, cw, padded) = small ? List(rng, size, 6, 1) : List(rng, size, freqCw, freqUcw);
        var shot = new FewShotTurn(RulerTemplates.Fill(RulerTemplates.CweTemplate, ("context", exCtx)), RulerTemplates.CweAnswerPrefix + " " + Numbered(exAns));
        return new RulerPrompt(RulerTemplates.Fill(RulerTemplates.CweTemplate, ("context", ctx)), RulerTemplates.CweAnswerPrefix, cw)
        {
            Shots = [shot],
            NonComparable = padded ? $"{size:N0} distinct words exceed the {data.Words.Words.Count:N0}-word pool; generated words pad it (RULER uses english_words.json here)" : null,
        };
    }
}
