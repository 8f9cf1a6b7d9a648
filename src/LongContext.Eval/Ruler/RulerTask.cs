using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// One RULER task: builds a prompt for a haystack size and fits the size to a target length with the model's tokenizer
/// and template, as NVIDIA/RULER main (c3f5e3b) does: one probe estimates tokens per unit, a binary search over
/// [incremental, max(factor·budget/tokens-per-unit, 2·incremental)] finds the largest size whose prompt plus answer
/// budget fits, and each sample backs off by <see cref="Incremental"/> units while it does not fit.
/// Every sample is a pure function of (seed, task, length, index): the search's probes use their own seeded streams.
/// </summary>
public abstract class RulerTask(string name, int maxNewTokens, MatchMetric metric)
{
    private readonly Dictionary<(int, PromptMeasurer), int> _fitted = [];

    public string Name => name;
    public int MaxNewTokens => maxNewTokens;
    public MatchMetric Metric => metric;

    public abstract RulerTaskStatus Status { get; }

    /// <summary>RULER's step for this length: the search's lower bound and the per-sample back-off.</summary>
    protected abstract int Incremental(int length);
    /// <summary>Haystack size of the probe that estimates tokens per unit (RULER: incremental; CWE: 4096 words).</summary>
    protected virtual int ProbeSize(int length) => Incremental(length);
    /// <summary>Upper bound of the search = int(budget / tokens-per-unit · 3) (CWE: int(budget // tokens-per-unit) · 2).</summary>
    protected virtual int UpperBound(int length, double tokensPerUnit) => (int)(length / tokensPerUnit * 3);

    /// <summary>Builds the prompt for a haystack size from the sample's random stream.</summary>
    protected abstract RulerPrompt Build(int size, Random rng, int length, int index, PromptMeasurer measurer);

    /// <summary>
    /// Tokens of a search probe's prompt at a size. Each probe draws its own random content, as RULER's probes do (they
    /// consume its global random stream): the search then settles where a lucky draw fits, and a typical sample backs
    /// off one step, which is why RULER fills uuid-valued essay tasks to ~86% at 4K. Probes ask question 0 (QA).
    /// </summary>
    protected virtual int PromptTokens(int size, int seed, int length, PromptMeasurer measurer) =>
        measurer.Count(Build(size, SearchRng(seed, length, size), length, 0, measurer).Request);

    protected Random SearchRng(int seed, int length, int size) => new(RandomExtensions.MixSeed(seed, name, length, "search", size));

    /// <summary>Tokens the search compares with the length (RULER: prompt + answer budget; VT adds its example separately).</summary>
    protected virtual int SearchTokens(int size, int seed, int length, PromptMeasurer measurer) =>
        PromptTokens(size, seed, length, measurer) + maxNewTokens;

    protected Random Rng(int seed, int length, int index) => new(RandomExtensions.MixSeed(seed, name, length, index));

    public virtual RulerSample Generate(int length, int index, int seed, PromptMeasurer measurer)
    {
        if (!Status.Available) throw new EvalException($"RULER task {name} is unavailable: {Status.Note}");
        var incremental = Incremental(length);
        int size;
        lock (_fitted)
        {
            if (!_fitted.TryGetValue((length, measurer), out size))
            {
                size = Search(length, seed, measurer);
                _fitted[(length, measurer)] = size;
            }
        }
        while (true)
        {
            var p = Build(size, Rng(seed, length, index), length, index, measurer);
            var tokens = measurer.Count(p.Request);
            if (tokens + maxNewTokens <= length) return Sample(length, index, p, tokens, size);
            // RULER loops forever here (it only backs off while size > incremental); we stop with the reason.
            if (size <= incremental)
                throw new EvalException($"RULER task {name} sample {index} does not fit {length} tokens even at {size} haystack units ({tokens} + {maxNewTokens} answer tokens); use a larger --lengths value.");
            size -= incremental;
        }
    }

    /// <summary>For tests: the searched size, the back-off step and the search's token count at a size (fill levels).</summary>
    internal (int Size, int Step, Func<int, int> TokensAt) Fitting(int length, int seed, PromptMeasurer measurer)
    {
        Generate(length, 0, seed, measurer);
        lock (_fitted) return (_fitted[(length, measurer)], Incremental(length), size => SearchTokens(size, seed, length, measurer));
    }

    protected RulerSample Sample(int length, int index, RulerPrompt p, int tokens, int size) =>
        new(name, length, index, p.Input, p.AnswerPrefix, p.Outputs, maxNewTokens, metric, tokens, size) { Shots = p.Shots, NonComparable = p.NonComparable };

    /// <summary>RULER's binary search; when no size fits it returns incremental, as RULER does (the sample loop then fails).</summary>
    private int Search(int length, int seed, PromptMeasurer measurer)
    {
        var incremental = Incremental(length);
        var probe = ProbeSize(length);
        var tokensPerUnit = PromptTokens(probe, seed, length, measurer) / (double)probe;
        int lo = incremental, hi = Math.Max(UpperBound(length, tokensPerUnit), incremental * 2);
        int? best = null;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (SearchTokens(mid, seed, length, measurer) <= length) { best = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return best ?? incremental;
    }

    /// <summary>The 13 default tasks of RULER (scripts/synthetic.yaml), in RULER's order.</summary>
    public static IReadOnlyList<string> DefaultTaskNames { get; } =
        ["niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multikey_2", "niah_multikey_3", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe", "qa_1", "qa_2"];

    public static RulerTask Create(string name, RulerData data) => name switch
    {
        "niah_single_1" => new NiahTask(name, data, NiahHaystack.Noise, NeedleType.Words, NeedleType.Numbers, 1, 1, 1),
        "niah_single_2" => new NiahTask(name, data, NiahHaystack.Essay, NeedleType.Words, NeedleType.Numbers, 1, 1, 1),
        "niah_single_3" => new NiahTask(name, data, NiahHaystack.Essay, NeedleType.Words, NeedleType.Uuids, 1, 1, 1),
        "niah_multikey_1" => new NiahTask(name, data, NiahHaystack.Essay, NeedleType.Words, NeedleType.Numbers, 4, 1, 1),
        "niah_multikey_2" => new NiahTask(name, data, NiahHaystack.Needle, NeedleType.Words, NeedleType.Numbers, 1, 1, 1),
        "niah_multikey_3" => new NiahTask(name, data, NiahHaystack.Needle, NeedleType.Uuids, NeedleType.Uuids, 1, 1, 1),
        "niah_multivalue" => new NiahTask(name, data, NiahHaystack.Essay, NeedleType.Words, NeedleType.Numbers, 1, 4, 1),
        "niah_multiquery" => new NiahTask(name, data, NiahHaystack.Essay, NeedleType.Words, NeedleType.Numbers, 4, 1, 4),
        "vt" => new VariableTrackingTask(name, numChains: 1, numHops: 4),
        "cwe" => new CommonWordsTask(name, data),
        "fwe" => new FrequentWordsTask(name, alpha: 2.0),
        "qa_1" => new QaTask(name, data.Squad, "SQuAD v2.0 dev (--squad FILE)"),
        "qa_2" => new QaTask(name, data.HotpotQa, "HotpotQA dev distractor (--hotpotqa FILE)"),
        _ => throw new EvalException($"--tasks: unknown RULER task '{name}'; known: {string.Join(", ", DefaultTaskNames)}."),
    };
}
