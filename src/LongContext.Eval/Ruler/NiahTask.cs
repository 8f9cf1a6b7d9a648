using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

public enum NiahHaystack { Noise, Essay, Needle }
public enum NeedleType { Words, Numbers, Uuids }

/// <summary>
/// RULER's niah.py (main, c3f5e3b): k keys × v values as needle sentences, q keys queried. Noise haystack: N copies of
/// the noise unit, needles at random unit positions, "\n"-joined. Essay haystack: the first N essay words, needles at
/// sentence index depth·n/100 for depths drawn from RULER's 40-point grid, parts " "-joined. Needle haystack: N
/// look-alike distractor needles. Keys of type words are "{adjective}-{noun}". Step: 500 words (essay), 25 units
/// (noise, needle; 5 below 4096 tokens).
/// </summary>
public sealed class NiahTask : RulerTask
{
    private static readonly int[] Depths = Enumerable.Range(0, 40).Select(i => (int)Math.Round(i * 100.0 / 39, MidpointRounding.ToEven)).ToArray();

    private readonly RulerData _data;
    private readonly NiahHaystack _haystack;
    private readonly NeedleType _keyType, _valueType;
    private readonly int _k, _v, _q;

    public NiahTask(string name, RulerData data, NiahHaystack haystack, NeedleType keyType, NeedleType valueType, int numK, int numV, int numQ)
        : base(name, RulerTemplates.NiahTokens, MatchMetric.All)
    {
        (_data, _haystack, _keyType, _valueType, _v, _q) = (data, haystack, keyType, valueType, numV, numQ);
        _k = Math.Max(numK, numQ);
    }

    public override RulerTaskStatus Status
    {
        get
        {
            if (_haystack == NiahHaystack.Essay && _data.EssayWords is null)
                return new(Name, false, false, "skipped: needs an essay folder (--essays DIR; Paul Graham essays for comparable numbers)");
            var notes = new List<string>();
            var comparable = true;
            if (_keyType == NeedleType.Words && !_data.Words.Comparable)
            { comparable = false; notes.Add($"keys from {_data.Words.Source} (give --words with wonderwords' assets folder for comparable numbers)"); }
            if (_haystack == NiahHaystack.Essay)
            {
                if (_data.EssayComparableWords == 0) comparable = false;
                notes.Add($"essays from {_data.EssaySource}; sentences split by rules, not NLTK punkt (moves a needle by at most a sentence)");
            }
            if (notes.Count == 0) notes.Add(_haystack == NiahHaystack.Noise ? "built in (noise haystack)" : "built in (needle haystack)");
            return new(Name, true, comparable, string.Join("; ", notes));
        }
    }

    protected override int Incremental(int length) => _haystack == NiahHaystack.Essay ? 500 : length < 4096 ? 5 : 25;

    private string TypeName(NeedleType t) => t switch { NeedleType.Numbers => "numbers", NeedleType.Uuids => "uuids", _ => "words" };

    private string Draw(NeedleType t, Random rng) => t switch
    {
        NeedleType.Numbers => rng.SevenDigits(),
        NeedleType.Uuids => rng.Uuid(),
        _ => _data.Words.Key(rng),
    };

    protected override RulerPrompt Build(int size, Random rng, int length, int index, PromptMeasurer measurer)
    {
        var typeV = TypeName(_valueType);
        var keys = new List<string>();
        while (keys.Count < _k) { var key = Draw(_keyType, rng); if (!keys.Contains(key)) keys.Add(key); }
        var values = keys.Select(_ => Enumerable.Range(0, _v).Select(_ => Draw(_valueType, rng)).ToList()).ToList();
        var needles = new List<string>();
        for (var i = 0; i < _k; i++)
            foreach (var val in values[i])
                needles.Add(RulerTemplates.Fill(RulerTemplates.NeedleSentence, ("type_needle_v", typeV), ("key", keys[i]), ("value", val)));
        rng.ShuffleInPlace(needles);

        string context;
        string? nonComparable = null;
        if (_haystack == NiahHaystack.Essay)
        {
            var words = _data.EssayWords!;
            if (size > _data.EssayComparableWords && _data.EssayComparableWords > 0)
                nonComparable = $"essay haystack of {size:N0} words runs past the {_data.EssayComparableWords:N0} verified words of RULER's essay text";
            var text = string.Join(' ', Enumerable.Range(0, size).Select(i => words[i % words.Count])).Trim();
            var sents = SentenceSplitter.Split(text);
            var positions = rng.SampleIndices(Depths.Length, needles.Count).Select(d => (int)(sents.Count * (Depths[d] / 100.0))).Order().ToList();
            // RULER: [0] + sorted positions + [n]; each slice " "-joined (empty slices kept), a needle after each but the last.
            var bounds = new List<int> { 0 };
            bounds.AddRange(positions);
            bounds.Add(sents.Count);
            var parts = new List<string>();
            for (var i = 1; i < bounds.Count; i++)
            {
                parts.Add(string.Join(' ', sents.Skip(bounds[i - 1]).Take(bounds[i] - bounds[i - 1])));
                if (i - 1 < needles.Count) parts.Add(needles[i - 1]);
            }
            context = string.Join(' ', parts);
        }
        else
        {
            var units = new List<string>(size + needles.Count);
            for (var i = 0; i < size; i++)
                units.Add(_haystack == NiahHaystack.Noise ? RulerTemplates.Noise
                    : RulerTemplates.Fill(RulerTemplates.NeedleSentence, ("type_needle_v", typeV), ("key", Draw(_keyType, rng)), ("value", Draw(_valueType, rng))));
            var at = rng.SampleIndices(size, Math.Min(size, needles.Count)).OrderDescending().ToList();
            for (var i = 0; i < at.Count; i++) units.Insert(at[i], needles[i]);
            for (var i = at.Count; i < needles.Count; i++) units.Add(needles[i]);
            context = string.Join('\n', units);
        }

        var queried = rng.SampleIndices(_k, _q).ToList();
        var queryKeys = queried.Select(i => keys[i]).ToList();
        var query = queryKeys.Count == 1 ? queryKeys[0] : string.Join(", ", queryKeys.Take(queryKeys.Count - 1)) + ", and " + queryKeys[^1];
        var outputs = queried.SelectMany(i => values[i]).ToList();

        var template = RulerTemplates.NiahTemplate;
        var prefix = RulerTemplates.NiahAnswerPrefix;
        var typeWord = typeV;
        if (_q * _v == 1)
        {
            template = RulerTemplates.Singular(template);
            prefix = RulerTemplates.Singular(prefix);
            typeWord = typeV[..^1];
        }
        var input = RulerTemplates.Fill(template, ("type_needle_v", typeWord), ("query", query), ("context", context));
        return new RulerPrompt(input, RulerTemplates.Fill(prefix, ("type_needle_v", typeWord), ("query", query)), outputs) { NonComparable = nonComparable };
    }
}
