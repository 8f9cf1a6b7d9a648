using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Eval.Text;

namespace LongContext.Eval.Icl;

/// <summary>One labelled example.</summary>
public sealed record IclExample(string Input, string Label);

/// <summary>
/// A classification task for many-shot ICL: the shot pool and the held-out test queries, disjoint by input, so a
/// query's own example can never be in its prompt (the model must generalise, not look up).
/// </summary>
public sealed record IclData(string Name, IReadOnlyList<IclExample> Pool, IReadOnlyList<IclExample> Queries, int Labels, string Source)
{
    /// <summary>
    /// Built-in tasks or a file. word_label: generated words labelled by a hidden rule on their first letter (each
    /// letter maps to one of 6 labels), learnable from other words with the same letter. hidden_arith: x in [0, 10000)
    /// labelled (a·x + b) mod 7 with hidden a, b. A file: label/text TSV ("label\ttext" per line, optional header) or
    /// JSONL ({"label","text"} or {"input","label"}), as HELMET reads TREC, BANKING77 and CLINC150; a second file
    /// (<paramref name="testFile"/>) gives the queries, otherwise they are held out of the first.
    /// </summary>
    public static IclData Load(string task, int queries, int seed, string? testFile = null)
    {
        var rng = new Random(RandomExtensions.MixSeed(seed, "icl", task));
        List<IclExample> all;
        string name, source;
        if (task == "word_label")
        {
            string[] labels = ["apple", "river", "stone", "cloud", "ember", "frost"];
            var byLetter = Enumerable.Range(0, 26).ToDictionary(i => (char)('a' + i), _ => labels[rng.Next(labels.Length)]);
            all = WordPool.Generated(8192, seed).Words.Select(w => new IclExample(w, byLetter[w[0]])).ToList();
            (name, source) = ("word_label", "built in: generated words, label by a hidden first-letter rule");
        }
        else if (task == "hidden_arith")
        {
            var (a, b) = (rng.Next(1, 7), rng.Next(0, 7));
            all = Enumerable.Range(0, 10_000).Select(x => new IclExample(x.ToString(CultureInfo.InvariantCulture), ((a * x + b) % 7).ToString(CultureInfo.InvariantCulture))).ToList();
            (name, source) = ("hidden_arith", "built in: x in [0, 10000), label (a·x + b) mod 7");
        }
        else
        {
            all = ReadFile(task, "--task");
            (name, source) = (Path.GetFileNameWithoutExtension(task), task);
        }
        // One example per input: duplicates would let a query's twin sit in the pool.
        all = all.GroupBy(e => e.Input, StringComparer.Ordinal).Select(g => g.First()).ToList();
        rng.ShuffleInPlace(all);
        List<IclExample> pool, test;
        if (testFile is not null)
        {
            test = ReadFile(testFile, "--test").GroupBy(e => e.Input, StringComparer.Ordinal).Select(g => g.First()).ToList();
            rng.ShuffleInPlace(test);
            test = test.Take(queries).ToList();
            var held = test.Select(q => q.Input).ToHashSet(StringComparer.Ordinal);
            pool = all.Where(e => !held.Contains(e.Input)).ToList();
            source += $" (queries from {testFile})";
        }
        else
        {
            if (all.Count < queries + 8) throw new EvalException($"{task}: {all.Count} distinct examples; need at least {queries + 8} (queries + 8 shots).");
            test = all.Take(queries).ToList();
            pool = all.Skip(queries).ToList();
        }
        if (test.Count == 0) throw new EvalException($"{testFile ?? task}: no test queries.");
        var labelCount = pool.Select(e => e.Label).Concat(test.Select(e => e.Label)).Distinct().Count();
        return new IclData(name, pool, test, labelCount, source);
    }

    private static List<IclExample> ReadFile(string path, string option)
    {
        if (!File.Exists(path)) throw new EvalException($"{option} {path}: neither word_label, hidden_arith nor an existing label/text TSV or JSONL file.");
        var rows = new List<IclExample>();
        var jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        var n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (jsonl)
            {
                try
                {
                    var node = JsonNode.Parse(line)!;
                    var text = (node["text"] ?? node["input"])?.ToString();
                    var label = node["label"]?.ToString();
                    if (text is null || label is null) throw new JsonException("missing field");
                    rows.Add(new IclExample(Clean(text), label.Trim()));
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                { throw new EvalException($"{path}:{n}: expected a JSON object with \"label\" and \"text\" (or \"input\")."); }
            }
            else
            {
                var tab = line.IndexOf('\t');
                if (tab <= 0) throw new EvalException($"{path}:{n}: expected \"label<TAB>text\" (or give a .jsonl file).");
                var (label, text) = (line[..tab].Trim(), line[(tab + 1)..]);
                if (n == 1 && label.Equals("label", StringComparison.OrdinalIgnoreCase) && text.Trim().Equals("text", StringComparison.OrdinalIgnoreCase)) continue;
                rows.Add(new IclExample(Clean(text), label));
            }
        }
        if (rows.Count == 0) throw new EvalException($"{path}: no examples.");
        return rows;
    }

    /// <summary>One line per example: newlines would break the "Input: …\nLabel: …" format.</summary>
    private static string Clean(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
