using System.Globalization;
using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// RULER's variable_tracking.py as on main (c3f5e3b), one version throughout: chains "VAR A = 12345",
/// "VAR B = VAR A ", … inserted at sorted random positions among noise units, "\n"-joined; the answer is every variable of
/// the queried chain. The one-shot example is RULER's: the task template and answer prefix (no model template) with
/// 3-letter names and value 12345, its noise fitted to 500 tokens, followed by its answer; each sample then re-randomises
/// the example's names and value (randomize_icl, since Dec 2024) and puts it at the start of the user turn.
/// The search counts the prompt without the example plus the example's tokens, as RULER does; the sample check counts
/// the whole prompt.
/// </summary>
public sealed class VariableTrackingTask(string name, int numChains, int numHops)
    : RulerTask(name, RulerTemplates.VtTokens, MatchMetric.All)
{
    private const int ExampleBudget = 500;
    private readonly Dictionary<PromptMeasurer, (string Text, int Tokens)> _examples = [];

    public override RulerTaskStatus Status => new(Name, true, true,
        "built in (noise haystack); RULER main's variable tracking: one-shot example fitted to 500 tokens, re-randomised per sample");

    protected override int Incremental(int length) => length < 4096 ? 5 : 10;

    private static List<string> Names(Random rng, int count, int len)
    {
        var names = new List<string>();
        while (names.Count < count)
        {
            var v = new string(Enumerable.Range(0, len).Select(_ => (char)('A' + rng.Next(26))).ToArray());
            if (!names.Contains(v)) names.Add(v);
        }
        return names;
    }

    /// <summary>Noise units with the chains inserted; returns the context, the first chain's value and its variables.</summary>
    private (string Context, string Value, List<string> Vars) Chains(Random rng, int noises, int hops, int nameLen, string? fixedValue)
    {
        var names = Names(rng, numChains * (hops + 1), nameLen);
        var sentences = Enumerable.Repeat(RulerTemplates.Noise, noises).ToList();
        List<string>? first = null;
        string? firstValue = null;
        for (var c = 0; c < numChains; c++)
        {
            var vars = names.GetRange(c * (hops + 1), hops + 1);
            // numpy randint(10000, 99999): the upper end is exclusive.
            var value = fixedValue ?? rng.Next(10000, 99999).ToString(CultureInfo.InvariantCulture);
            var lines = new List<string> { $"VAR {vars[0]} = {value}" };
            for (var j = 0; j < hops; j++) lines.Add($"VAR {vars[j + 1]} = VAR {vars[j]} ");
            var positions = rng.SampleIndices(sentences.Count, Math.Min(sentences.Count, lines.Count)).Order().ToList();
            while (positions.Count < lines.Count) positions.Add(sentences.Count);
            for (var j = 0; j < lines.Count; j++) sentences.Insert(Math.Min(positions[j] + j, sentences.Count), lines[j]);
            first ??= vars;
            firstValue ??= value;
        }
        return (string.Join('\n', sentences).Replace(". \n", ".\n"), firstValue!, first!);
    }

    private static string Render(string context, string value, int numV) =>
        RulerTemplates.Fill(RulerTemplates.VtTemplate, ("query", value), ("context", context));

    private static string Prefix(string value, int numV) =>
        RulerTemplates.Fill(RulerTemplates.VtAnswerPrefix, ("num_v", numV.ToString(CultureInfo.InvariantCulture)), ("query", value));

    /// <summary>
    /// RULER's example, made once per tokenizer from a fixed stream (like RULER's, made once per run; each sample
    /// re-randomises its names and value): the largest noise count (binary search from 5, as RULER's
    /// sys_vartrack_w_noise_random with max_seq_length=500) whose example text fits 500 tokens.
    /// </summary>
    private (string Text, int Tokens) Example(PromptMeasurer measurer)
    {
        lock (_examples)
        {
            if (_examples.TryGetValue(measurer, out var e)) return e;
            var hops = Math.Min(10, numHops);
            string Text(int noises)
            {
                var (ctx, value, vars) = Chains(new Random(RandomExtensions.MixSeed(Name, "icl")), noises, hops, 3, "12345");
                return Render(ctx, value, vars.Count) + Prefix(value, vars.Count);
            }
            int Tokens(int noises) => measurer.Tokenizer.Encode(Text(noises), addSpecialTokens: false).Count;
            const int incremental = 5;
            var perUnit = Tokens(incremental) / (double)incremental;
            int lo = incremental, hi = Math.Max((int)(ExampleBudget / perUnit * 3), incremental * 2), best = incremental;
            var found = false;
            while (lo <= hi)
            {
                var mid = (lo + hi) / 2;
                if (Tokens(mid) <= ExampleBudget) { best = mid; found = true; lo = mid + 1; }
                else hi = mid - 1;
            }
            if (!found)
                throw new EvalException($"RULER vt: the one-shot example does not fit RULER's {ExampleBudget} tokens even with {incremental} noise units ({Tokens(incremental)} tokens with this tokenizer).");
            var icl = Text(best);
            var (_, _, exVars) = Chains(new Random(RandomExtensions.MixSeed(Name, "icl")), best, hops, 3, "12345");
            var example = icl + " " + string.Join(' ', exVars) + "\n";
            e = (example, measurer.Tokenizer.Encode(example, addSpecialTokens: false).Count);
            _examples[measurer] = e;
            return e;
        }
    }

    /// <summary>RULER's randomize_icl: the answer's variable names (the example's last words) and 12345 replaced by random ones.</summary>
    private string Randomize(string example, Random rng)
    {
        var targets = example.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[^(numHops + 1)..];
        foreach (var t in targets)
            example = example.Replace(t, new string(Enumerable.Range(0, t.Length).Select(_ => (char)('A' + rng.Next(26))).ToArray()), StringComparison.Ordinal);
        return example.Replace("12345", rng.Next(10000, 99999).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    private (string Input, string Prefix, List<string> Vars) Main(int size, Random rng)
    {
        var (ctx, value, vars) = Chains(rng, size, numHops, 5, null);
        return (Render(ctx, value, vars.Count), Prefix(value, vars.Count), vars);
    }

    protected override int PromptTokens(int size, int seed, int length, PromptMeasurer measurer)
    {
        var (input, prefix, _) = Main(size, SearchRng(seed, length, size));
        return measurer.Count(input, prefix);
    }

    protected override int SearchTokens(int size, int seed, int length, PromptMeasurer measurer) =>
        PromptTokens(size, seed, length, measurer) + Example(measurer).Tokens + MaxNewTokens;

    protected override RulerPrompt Build(int size, Random rng, int length, int index, PromptMeasurer measurer)
    {
        var (input, prefix, vars) = Main(size, rng);
        var example = Randomize(Example(measurer).Text, rng);
        return new RulerPrompt(example + "\n" + input, prefix, vars);
    }
}
