using System.Text.Json;
using System.Text.RegularExpressions;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// The corpora RULER's tasks draw on. Nothing unlicensed ships with LongContext: essays (Paul Graham's, for
/// comparability), SQuAD v2 dev and HotpotQA dev-distractor come from user paths; without --words a generated word
/// pool stands in for wonderwords. Each source is checked against RULER's own by SHA-256 (<see cref="RulerProvenance"/>):
/// only verified data makes a task comparable.
/// </summary>
public sealed class RulerData
{
    public required WordPool Words { get; init; }
    /// <summary>RULER's essay haystack: <c>re.sub(r'\s+', " ", text).split(" ")</c>, or null when --essays was not given.</summary>
    public IReadOnlyList<string>? EssayWords { get; init; }
    public string? EssaySource { get; init; }
    /// <summary>How many leading essay words are verified RULER text (0 when the essays are not RULER's).</summary>
    public int EssayComparableWords { get; init; }
    public QaDataset? Squad { get; init; }
    public QaDataset? HotpotQa { get; init; }

    public static RulerData Load(string? essays, string? squadFile, string? hotpotFile, string? words)
    {
        IReadOnlyList<string>? essayWords = null;
        string? source = null;
        var comparableWords = 0;
        if (essays is not null)
        {
            var text = EssayCorpus.ReadRulerText(essays, "--essays");
            essayWords = Regex.Replace(text, @"\s+", " ").Split(' ');
            if (essayWords.Count < 50) throw new EvalException($"--essays {essays}: only {essayWords.Count} words of text.");
            var verified = RulerProvenance.StartsWithRepoEssays(text);
            // The last verified word may run on into the scraped part: count one fewer.
            comparableWords = verified ? RulerProvenance.RepoEssaysWords - 1 : 0;
            source = verified
                ? $"{essays} (begins with the 49 Paul Graham essays RULER's text starts with, SHA-256 verified: {comparableWords:N0} words)"
                : $"{essays} (not RULER's Paul Graham essay text: its opening 643,830 characters do not match by SHA-256)";
        }
        return new RulerData
        {
            Words = words is null ? WordPool.Generated(20_000) : WordPool.Load(words),
            EssayWords = essayWords,
            EssaySource = source,
            EssayComparableWords = comparableWords,
            Squad = squadFile is null ? null : QaDataset.LoadSquad(squadFile),
            HotpotQa = hotpotFile is null ? null : QaDataset.LoadHotpotQa(hotpotFile),
        };
    }
}
