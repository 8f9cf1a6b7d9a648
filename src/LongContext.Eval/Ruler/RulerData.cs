using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// The corpora RULER's tasks draw on. Nothing unlicensed ships with LongContext: essays (Paul Graham's, for
/// comparability), SQuAD v2 dev and HotpotQA dev-distractor come from user paths; without --words a generated word
/// pool stands in for wonderwords and the tasks using it are marked non-comparable.
/// </summary>
public sealed class RulerData
{
    public required WordPool Words { get; init; }
    /// <summary>Essay text as words (whitespace-normalised, RULER's essay haystack), or null when --essays was not given.</summary>
    public IReadOnlyList<string>? EssayWords { get; init; }
    public string? EssaySource { get; init; }
    public QaDataset? Squad { get; init; }
    public QaDataset? HotpotQa { get; init; }

    public static RulerData Load(string? essaysDir, string? squadFile, string? hotpotFile, string? wordsFile)
    {
        IReadOnlyList<string>? essay = null;
        if (essaysDir is not null)
        {
            if (!Directory.Exists(essaysDir)) throw new EvalException($"--essays {essaysDir}: folder not found; give a folder of essay .txt files (e.g. Paul Graham's essays, fetched with RULER's URL list).");
            essay = EssayCorpus.ReadFolder(essaysDir).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (essay.Count < 50) throw new EvalException($"--essays {essaysDir}: only {essay.Count} words of text in *.txt/*.md files.");
        }
        return new RulerData
        {
            Words = wordsFile is null ? WordPool.Generated(20_000) : WordPool.FromFile(wordsFile),
            EssayWords = essay,
            EssaySource = essaysDir,
            Squad = squadFile is null ? null : QaDataset.LoadSquad(squadFile),
            HotpotQa = hotpotFile is null ? null : QaDataset.LoadHotpotQa(hotpotFile),
        };
    }
}
