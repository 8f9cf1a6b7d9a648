using LongContext.Eval.Backends;
using LongContext.Eval.Ruler;
using LongContext.Eval.Text;

namespace LongContext.Eval.Niah;

/// <summary>
/// Builds NIAH prompts: haystack units (sentences, or files for code) fitted with the model's tokenizer so that
/// prompt + answer budget + buffer fits the length, needles inserted between units at the depth (measured in
/// characters of the haystack, so a needle always starts a sentence or sits between two files).
/// </summary>
public sealed class NiahGenerator(IHaystack haystack, NiahOptions options, WordPool words)
{
    private readonly Dictionary<int, int> _fitted = [];

    public IHaystack Haystack => haystack;

    public NiahCase Generate(int length, int depthIndex, PromptMeasurer measurer)
    {
        var depths = NiahGrid.Depths(options.DepthCount, options.Spacing);
        var depth = depths[depthIndex];
        var budget = length - options.MaxNewTokens - options.Buffer;
        int units;
        lock (_fitted)
        {
            // Fitted on the first depth's cell, whichever cell asks first, so every cell's prompt is a pure function of
            // its (length, depth) key: a resumed run builds exactly the prompts of an uninterrupted one.
            if (!_fitted.TryGetValue(length, out units))
            {
                units = LengthFitter.Fit(n => Count(Build(length, depths[0], 0, n), measurer), budget, incremental: 16);
                if (units == 0) throw new EvalException($"NIAH cannot fit {length} tokens: the question and needle alone plus {options.MaxNewTokens} answer tokens are longer; raise --lengths.");
                _fitted[length] = units;
            }
        }
        var step = Math.Max(1, units / 20);
        while (true)
        {
            var c = Build(length, depth, depthIndex, units);
            var tokens = Count(c, measurer);
            if (tokens <= budget) return c with { PromptTokens = tokens };
            if (units - step < 1) throw new EvalException($"NIAH cell (length {length}, depth {depth}) does not fit even with one haystack unit.");
            units -= step;
        }
    }

    private static int Count(NiahCase c, PromptMeasurer m) => m.Count(c.Input, c.AnswerPrefix);

    private NiahCase Build(int length, double depth, int depthIndex, int units)
    {
        var rng = new Random(RandomExtensions.MixSeed(options.Seed, "niah", options.Variant, length, depthIndex));
        var hay = haystack.Take(units);
        var cum = new long[hay.Count + 1];
        for (var i = 0; i < hay.Count; i++) cum[i + 1] = cum[i] + hay[i].Length + 1;
        int At(double d)
        {
            if (d >= 100) return hay.Count;
            var target = cum[^1] * d / 100.0;
            var i = Array.BinarySearch(cum, (long)Math.Ceiling(target));
            return Math.Clamp(i >= 0 ? i : ~i, 0, hay.Count);
        }

        var inserts = new List<(int Pos, int Order, string Text)>();
        IReadOnlyList<string> expected, forbidden = [];
        string question, input, prefix;
        if (options.Custom is { } custom)
        {
            inserts.Add((At(depth), 0, custom.Needle.Trim()));
            expected = custom.Answers;
            question = custom.Question;
            input = "{context}\n\n" + question + " Don't give information outside the document or repeat your findings";
            prefix = "";
        }
        else if (options.Variant == NiahVariant.Adversarial)
        {
            var key = words.Key(rng);
            var (old, current) = (rng.SevenDigits(), rng.SevenDigits());
            var pos = At(depth);
            var oldPos = pos == 0 ? 0 : rng.Next(0, pos);
            inserts.Add((oldPos, 0, $"The special magic number for {key} is: {old}."));
            inserts.Add((pos, 1, $"Update: the special magic number for {key} has changed; its current value is: {current}."));
            var lookalikes = LookAlikes(key, options.Distractors, rng);
            var distractorValues = new List<string>();
            foreach (var k in lookalikes)
            {
                var v = rng.SevenDigits();
                distractorValues.Add(v);
                inserts.Add((rng.Next(0, hay.Count + 1), 2, $"The special magic number for {k} is: {v}."));
            }
            expected = [current];
            forbidden = [old, .. distractorValues.Where(v => v != current)];
            question = $"What is the current special magic number for {key} mentioned in the provided text?";
            input = "A special magic number is hidden within the following text, and it may have been updated. Look-alike names may appear; only the exact name counts. Make sure to memorize it. I will quiz you about the number afterwards.\n{context}\n"
                + question + " If it was changed, give the latest value only.";
            prefix = $" The current special magic number for {key} mentioned in the provided text is";
        }
        else
        {
            var k = options.Variant == NiahVariant.Multi ? Math.Max(1, options.Needles) : 1;
            var keys = new List<string>();
            while (keys.Count < k) { var key = words.Key(rng); if (!keys.Contains(key)) keys.Add(key); }
            var values = keys.Select(_ => rng.SevenDigits()).ToList();
            for (var j = 0; j < k; j++)
                inserts.Add((At(depth + j * (100 - depth) / k), j, RulerTemplates.Fill(RulerTemplates.NeedleSentence, ("type_needle_v", "numbers"), ("key", keys[j]), ("value", values[j]))));
            expected = values;
            var query = k == 1 ? keys[0] : string.Join(", ", keys.Take(k - 1)) + ", and " + keys[^1];
            var template = RulerTemplates.NiahTemplate;
            prefix = RulerTemplates.NiahAnswerPrefix;
            var type = "numbers";
            if (k == 1) { template = RulerTemplates.Singular(template); prefix = RulerTemplates.Singular(prefix); type = "number"; }
            input = RulerTemplates.Fill(template, ("type_needle_v", type), ("query", query));
            prefix = RulerTemplates.Fill(prefix, ("type_needle_v", type), ("query", query));
            question = input[(input.LastIndexOf('\n') + 1)..];
        }

        var parts = new List<string>(hay.Count + inserts.Count);
        var ordered = inserts.OrderBy(x => x.Pos).ThenBy(x => x.Order).ToList();
        var next = 0;
        for (var i = 0; i <= hay.Count; i++)
        {
            while (next < ordered.Count && ordered[next].Pos == i) parts.Add(haystack.FormatNeedle(ordered[next++].Text));
            if (i < hay.Count) parts.Add(hay[i]);
        }
        var context = string.Join(haystack.Separator, parts);
        return new NiahCase(length, depth, depthIndex, input.Replace("{context}", context), prefix, expected, forbidden, question, 0, units,
            options.Custom is null ? Scoring.MatchMetric.All : Scoring.MatchMetric.Part);
    }

    /// <summary>Keys one edit away from "adj-noun": a changed letter, swapped halves, a plural, a doubled letter.</summary>
    internal static List<string> LookAlikes(string key, int count, Random rng)
    {
        var result = new List<string>();
        var dash = key.IndexOf('-');
        var candidates = new List<string>();
        if (dash > 0) candidates.Add(key[(dash + 1)..] + "-" + key[..dash]);
        candidates.Add(key + "s");
        for (var attempt = 0; attempt < 50 && candidates.Count < count + 4; attempt++)
        {
            var chars = key.ToCharArray();
            var i = rng.Next(chars.Length);
            if (chars[i] == '-') continue;
            if (attempt % 2 == 0) chars[i] = (char)('a' + (chars[i] - 'a' + 1 + rng.Next(24)) % 26);
            else { candidates.Add(key.Insert(i, chars[i].ToString())); continue; }
            candidates.Add(new string(chars));
        }
        foreach (var c in candidates) if (c != key && !result.Contains(c) && result.Count < count) result.Add(c);
        return result;
    }
}
