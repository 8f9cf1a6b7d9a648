using System.Text.Json;

namespace LongContext.Eval.Ruler;

/// <summary>One QA question: gold documents first, then same-article distractors (SQuAD), as RULER's qa.py reads them.</summary>
public sealed record QaQuestion(string Query, IReadOnlyList<string> Answers, IReadOnlyList<int> GoldDocs, IReadOnlyList<int> MoreDocs);

/// <summary>SQuAD v2.0 dev or HotpotQA dev-distractor, reduced to RULER's documents and questions.</summary>
public sealed class QaDataset
{
    public required string Name { get; init; }
    public required IReadOnlyList<string> Docs { get; init; }
    public required IReadOnlyList<QaQuestion> Questions { get; init; }
    /// <summary>True when the file is byte-for-byte RULER's (SHA-256, <see cref="RulerProvenance"/>).</summary>
    public bool Comparable { get; init; }
    public string Source { get; init; } = "";

    /// <summary>dev-v2.0.json: unique paragraphs sorted; answerable questions only; every annotated answer kept.</summary>
    public static QaDataset LoadSquad(string path)
    {
        using var doc = Open(path, "--squad", "SQuAD v2.0 dev (dev-v2.0.json)");
        try
        {
            var articles = doc.RootElement.GetProperty("data").EnumerateArray().ToList();
            var docs = articles.SelectMany(a => a.GetProperty("paragraphs").EnumerateArray().Select(p => p.GetProperty("context").GetString()!))
                .Distinct().Order(StringComparer.Ordinal).ToList();
            var index = docs.Select((d, i) => (d, i)).ToDictionary(x => x.d, x => x.i);
            var qs = new List<QaQuestion>();
            foreach (var a in articles)
            {
                var paras = a.GetProperty("paragraphs").EnumerateArray().ToList();
                var articleDocs = paras.Select(p => index[p.GetProperty("context").GetString()!]).ToList();
                foreach (var p in paras)
                {
                    var own = index[p.GetProperty("context").GetString()!];
                    foreach (var q in p.GetProperty("qas").EnumerateArray())
                    {
                        if (q.TryGetProperty("is_impossible", out var imp) && imp.GetBoolean()) continue;
                        var answers = q.GetProperty("answers").EnumerateArray().Select(x => x.GetProperty("text").GetString()!).ToList();
                        if (answers.Count == 0) continue;
                        qs.Add(new QaQuestion(q.GetProperty("question").GetString()!, answers, [own], articleDocs.Where(i => i != own).ToList()));
                    }
                }
            }
            return Check(new QaDataset { Name = "squad", Docs = docs, Questions = qs }, path, "--squad", RulerProvenance.SquadDevV2);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
        {
            throw new EvalException($"--squad {path}: not in SQuAD v2.0 format (data[].paragraphs[].context/qas[]): {e.Message}");
        }
    }

    /// <summary>hotpot_dev_distractor_v1.json: documents "title\n" + joined sentences; gold = all 10 context paragraphs.</summary>
    public static QaDataset LoadHotpotQa(string path)
    {
        using var doc = Open(path, "--hotpotqa", "HotpotQA dev distractor (hotpot_dev_distractor_v1.json)");
        try
        {
            var items = doc.RootElement.EnumerateArray().ToList();
            static string Render(JsonElement c) => c[0].GetString() + "\n" + string.Concat(c[1].EnumerateArray().Select(s => s.GetString()));
            var docs = items.SelectMany(d => d.GetProperty("context").EnumerateArray().Select(Render)).Distinct().Order(StringComparer.Ordinal).ToList();
            var index = docs.Select((d, i) => (d, i)).ToDictionary(x => x.d, x => x.i);
            var qs = items.Select(d => new QaQuestion(d.GetProperty("question").GetString()!, [d.GetProperty("answer").GetString()!],
                d.GetProperty("context").EnumerateArray().Select(c => index[Render(c)]).ToList(), [])).ToList();
            return Check(new QaDataset { Name = "hotpotqa", Docs = docs, Questions = qs }, path, "--hotpotqa", RulerProvenance.HotpotDevDistractor);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new EvalException($"--hotpotqa {path}: not in HotpotQA format ([].question/answer/context[[title,[sentences]]]): {e.Message}");
        }
    }

    private static JsonDocument Open(string path, string option, string what)
    {
        if (!File.Exists(path)) throw new EvalException($"{option} {path}: file not found; give the {what} file.");
        try { return JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new EvalException($"{option} {path}: not valid JSON ({e.Message})."); }
    }

    private static QaDataset Check(QaDataset d, string path, string option, string rulerSha256)
    {
        if (d.Questions.Count == 0) throw new EvalException($"{option} {path}: no answerable questions found.");
        var comparable = RulerProvenance.FileSha256(path) == rulerSha256;
        return new QaDataset
        {
            Name = d.Name, Docs = d.Docs, Questions = d.Questions, Comparable = comparable,
            Source = comparable ? $"{path} (RULER's {d.Name} file, SHA-256 verified)" : $"{path} (not RULER's {d.Name} file: SHA-256 differs)",
        };
    }
}
