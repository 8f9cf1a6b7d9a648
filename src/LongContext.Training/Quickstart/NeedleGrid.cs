namespace LongContext.Training.Quickstart;

/// <summary>
/// The quickstart's needle-in-a-haystack grid for the toy recall model: context lengths × needle depths, a few
/// prompts per cell. Every prompt comes from its own seed stream (seed, length, depth, sample), separate from the
/// training rows': the needle's key and value are drawn at random for that prompt, so the answer exists only in the
/// prompt (a model that ignores the context is right 1 time in <see cref="RecallVocabulary.ValueCount"/>).
/// Distractor records use keys other than the needle's, so the needle key occurs exactly once before the question.
/// </summary>
public sealed class NeedleGrid
{
    private readonly RecallVocabulary _vocab;

    public NeedleGrid(RecallVocabulary vocab, IReadOnlyList<int> lengths, IReadOnlyList<double> depthPercents, int samplesPerCell, int seed)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        if (lengths.Count == 0 || lengths.Any(l => l < 8)) throw new ArgumentException("lengths must be non-empty and each at least 8 tokens.", nameof(lengths));
        if (depthPercents.Count == 0 || depthPercents.Any(d => d is < 0 or > 100)) throw new ArgumentException("depths must be non-empty percentages in [0, 100].", nameof(depthPercents));
        if (samplesPerCell < 1) throw new ArgumentOutOfRangeException(nameof(samplesPerCell), samplesPerCell, "need at least one sample per cell.");
        _vocab = vocab;
        Lengths = lengths.ToArray();
        DepthPercents = depthPercents.ToArray();
        SamplesPerCell = samplesPerCell;
        Seed = seed;
    }

    public IReadOnlyList<int> Lengths { get; }
    public IReadOnlyList<double> DepthPercents { get; }
    public int SamplesPerCell { get; }
    public int Seed { get; }

    /// <summary>The prompts of one cell (deterministic in seed, length, depth and sample index).</summary>
    public IReadOnlyList<NeedleCase> Cell(int lengthIndex, int depthIndex) =>
        Enumerable.Range(0, SamplesPerCell).Select(s => Build(Lengths[lengthIndex], DepthPercents[depthIndex], depthIndex, s)).ToArray();

    private NeedleCase Build(int length, double depth, int depthIndex, int sample)
    {
        var rng = new Random(StableSeed.Of(Seed, length, depthIndex, sample, 0xE7A1));
        var (needleKey, needleValue) = (rng.Next(_vocab.KeyCount), _vocab.DrawValue(rng));
        var body = length - 2;                        // tokens before `Q key`
        var records = (body + 2) / 3;
        var cut = records * 3 - body;                 // 0, 1 or 2 tokens cut from the left of the first record
        var first = cut > 0 ? 1 : 0;                  // the needle goes into a whole record
        var needleIndex = first + (int)Math.Round(depth / 100.0 * (records - 1 - first), MidpointRounding.AwayFromZero);
        var binding = new int[_vocab.KeyCount];       // distractor keys keep one value per prompt, as in training rows
        for (var k = 0; k < binding.Length; k++) binding[k] = _vocab.DrawValue(rng);
        var stream = new long[records * 3];
        for (var r = 0; r < records; r++)
        {
            int key, value;
            if (r == needleIndex) (key, value) = (needleKey, needleValue);
            else
            {
                do key = rng.Next(_vocab.KeyCount); while (key == needleKey);
                value = binding[key];
            }
            stream[r * 3] = _vocab.Key(key);
            stream[r * 3 + 1] = _vocab.Value(value);
            stream[r * 3 + 2] = RecallVocabulary.Sep;
        }
        var prompt = new long[length];
        Array.Copy(stream, cut, prompt, 0, body);
        prompt[length - 2] = RecallVocabulary.Query;
        prompt[length - 1] = _vocab.Key(needleKey);
        return new NeedleCase(length, depth, sample, prompt, _vocab.Key(needleKey), _vocab.Value(needleValue), needleIndex * 3 - cut);
    }
}
