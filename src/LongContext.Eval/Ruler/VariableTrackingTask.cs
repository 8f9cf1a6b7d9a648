using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// RULER's variable_tracking.py: chains "VAR A = 12345", "VAR B = VAR A ", … inserted at sorted random positions in the
/// noise haystack; the answer is every variable of the queried chain. A one-shot example (3-letter names, ~500 tokens
/// of noise) is always prepended, as RULER's add_fewshot default does.
/// </summary>
public sealed class VariableTrackingTask(string name, int numChains, int numHops)
    : RulerTask(name, RulerTemplates.VtTokens, MatchMetric.All)
{
    public override RulerTaskStatus Status => new(Name, true, true, "built in (noise haystack); the one-shot example is random (as RULER since Dec 2024) over 5 noise units rather than RULER's ~500-token example");

    protected override int Incremental(int length) => length < 4096 ? 5 : 10;

    private static (string Context, string Value, List<string> Vars) Chains(Random rng, int noises, int chains, int hops, int nameLen)
    {
        var names = new List<string>();
        while (names.Count < chains * (hops + 1))
        {
            var v = new string(Enumerable.Range(0, nameLen).Select(_ => (char)('A' + rng.Next(26))).ToArray());
            if (!names.Contains(v)) names.Add(v);
        }
        var sentences = Enumerable.Repeat(RulerTemplates.Noise + "\n", noises).ToList();
        List<string>? first = null;
        string? firstValue = null;
        for (var c = 0; c < chains; c++)
        {
            var vars = names.GetRange(c * (hops + 1), hops + 1);
            var value = rng.Next(10000, 100000).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var lines = new List<string> { $"VAR {vars[0]} = {value}" };
            for (var j = 0; j < hops; j++) lines.Add($"VAR {vars[j + 1]} = VAR {vars[j]} ");
            var n = Math.Max(sentences.Count, 1);
            var positions = rng.SampleIndices(n, Math.Min(n, lines.Count)).Order().ToList();
            while (positions.Count < lines.Count) positions.Add(n);
            for (var j = 0; j < lines.Count; j++) sentences.Insert(Math.Min(positions[j] + j, sentences.Count), lines[j]);
            first ??= vars;
            firstValue ??= value;
        }
        var context = string.Join(' ', sentences).Replace(". \n", ".\n");
        return (context, firstValue!, first!);
    }

    private static string Render(string context, string value, int numV) =>
        RulerTemplates.Fill(RulerTemplates.VtTemplate, ("query", value), ("context", context));

    private static string Prefix(string value, int numV) =>
        RulerTemplates.Fill(RulerTemplates.VtAnswerPrefix, ("num_v", numV.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("query", value));

    protected override (string, string, IReadOnlyList<string>) Build(int size, Random rng, int length, int index)
    {
        // One-shot example: 3-letter names, at most 10 hops, a short noise haystack.
        var (exCtx, exValue, exVars) = Chains(rng, 5, numChains, Math.Min(10, numHops), 3);
        var example = Render(exCtx, exValue, exVars.Count) + Prefix(exValue, exVars.Count) + " " + string.Join(' ', exVars) + "\n";
        var (ctx, value, vars) = Chains(rng, size, numChains, numHops, 5);
        return (example + Render(ctx, value, vars.Count), Prefix(value, vars.Count), vars);
    }
}
