namespace LongContext.Training.Quickstart;

/// <summary>
/// The quickstart's needle-in-a-haystack grid for the toy recall model: context lengths × needle depths, a few
/// prompts per cell. Every prompt comes from its own seed stream (seed, length, depth, sample), separate from the
/// training rows': the needle's key and value are drawn at random for that prompt, so the answer exists only in the
/// prompt (a model that ignores the context but reads the question's key is right 1 time in
/// <see cref="RecallVocabulary.ValueCount"/>). A prompt is <c>length − 1</c> pair tokens, the needle pair at the given
/// depth and distractor pairs of the other keys (one value per key per prompt, as in training rows), then the query
/// for the needle's key: the needle is the only pair with that key.
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
        var body = length - 1;                        // tokens before the question
        var needleAt = (int)Math.Round(depth / 100.0 * (body - 1), MidpointRounding.AwayFromZero);
        var binding = new int[_vocab.KeyCount];       // distractor keys keep one value per prompt, as in training rows
        for (var k = 0; k < binding.Length; k++) binding[k] = _vocab.DrawValue(rng);
        var prompt = new long[length];
        for (var i = 0; i < body; i++)
        {
            if (i == needleAt) { prompt[i] = _vocab.Pair(needleKey, needleValue); continue; }
            int key;
            do key = rng.Next(_vocab.KeyCount); while (key == needleKey);
            prompt[i] = _vocab.Pair(key, binding[key]);
        }
        prompt[body] = _vocab.QueryFor(needleKey);
        return new NeedleCase(length, depth, sample, prompt, prompt[body], _vocab.Pair(needleKey, needleValue), needleAt);
    }
}
