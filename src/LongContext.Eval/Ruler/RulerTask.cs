using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// One RULER task: builds a prompt for a haystack size, and fits the size to a target length with the model's tokenizer
/// (binary search once per length, then per-sample back-off by <see cref="Incremental"/> as RULER does).
/// Generation is deterministic for (seed, task, length, index).
/// </summary>
public abstract class RulerTask(string name, int maxNewTokens, MatchMetric metric)
{
    private readonly Dictionary<int, int> _fitted = [];

    public string Name => name;
    public int MaxNewTokens => maxNewTokens;
    public MatchMetric Metric => metric;

    public abstract RulerTaskStatus Status { get; }

    /// <summary>RULER's step for the haystack size at this length.</summary>
    protected abstract int Incremental(int length);
    protected virtual int MinSize => 1;

    /// <summary>Builds the task input (user content), answer prefix and reference outputs for a haystack size.</summary>
    protected abstract (string Input, string AnswerPrefix, IReadOnlyList<string> Outputs) Build(int size, Random rng, int length, int index);

    private Random Rng(int seed, int length, int index) => new(RandomExtensions.MixSeed(seed, name, length, index));

    public RulerSample Generate(int length, int index, int seed, PromptMeasurer measurer)
    {
        if (!Status.Available) throw new EvalException($"RULER task {name} is unavailable: {Status.Note}");
        var budget = length - maxNewTokens;
        int size;
        lock (_fitted)
        {
            if (!_fitted.TryGetValue(length, out size))
            {
                size = LengthFitter.Fit(n => Count(n, seed, length, 0, measurer), budget, Incremental(length), MinSize);
                if (size == 0) throw new EvalException($"RULER task {name} cannot fit {length} tokens: the template alone plus {maxNewTokens} answer tokens is longer; use a larger --lengths value.");
                _fitted[length] = size;
            }
        }
        var step = Math.Max(1, Math.Min(Incremental(length), size / 4));
        while (true)
        {
            var (input, prefix, outputs) = Build(size, Rng(seed, length, index), length, index);
            var tokens = measurer.Count(input, prefix);
            if (tokens + maxNewTokens <= length)
                return new RulerSample(name, length, index, input, prefix, outputs, maxNewTokens, metric, tokens, size);
            if (size - step < MinSize) throw new EvalException($"RULER task {name} sample {index} does not fit {length} tokens even at the smallest haystack.");
            size -= step;
        }
    }

    private int Count(int size, int seed, int length, int index, PromptMeasurer measurer)
    {
        var (input, prefix, _) = Build(size, Rng(seed, length, index), length, index);
        return measurer.Count(input, prefix);
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
