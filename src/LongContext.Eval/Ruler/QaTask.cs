using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// RULER's qa.py (main, c3f5e3b): sample i asks question i; its gold documents, then same-article distractors, then
/// random others (or, when more documents are asked than exist, the corpus repeated), shuffled and rendered
/// "Document {i}:\n{doc}" joined by blank lines. The document count is binary-searched on question 0 in steps of 10.
/// Scored with string_match_part (any alias).
/// </summary>
public sealed class QaTask(string name, QaDataset? data, string needs) : RulerTask(name, RulerTemplates.QaTokens, MatchMetric.Part)
{
    public override RulerTaskStatus Status => data is null
        ? new(Name, false, false, $"skipped: needs {needs}")
        : new(Name, true, data.Comparable, $"{data.Source}: {data.Questions.Count} questions, {data.Docs.Count} documents");

    protected override int Incremental(int length) => 10;

    protected override RulerPrompt Build(int size, Random rng, int length, int index, PromptMeasurer measurer)
    {
        var q = data!.Questions[index % data.Questions.Count];
        var numDocs = Math.Max(size, q.GoldDocs.Count);
        List<int> chosen;
        if (numDocs >= data.Docs.Count) chosen = Enumerable.Range(0, numDocs).Select(i => i % data.Docs.Count).ToList();
        else if (numDocs - q.GoldDocs.Count > q.MoreDocs.Count)
        {
            var taken = new HashSet<int>(q.GoldDocs.Concat(q.MoreDocs));
            var others = Enumerable.Range(0, data.Docs.Count).Where(i => !taken.Contains(i)).ToList();
            var need = numDocs - q.GoldDocs.Count - q.MoreDocs.Count;
            chosen = [.. q.GoldDocs, .. q.MoreDocs, .. rng.SampleIndices(others.Count, Math.Min(need, others.Count)).Select(i => others[i])];
        }
        else chosen = [.. q.GoldDocs, .. rng.SampleIndices(q.MoreDocs.Count, numDocs - q.GoldDocs.Count).Select(i => q.MoreDocs[i])];
        var docs = chosen.Select(i => data.Docs[i]).ToList();
        rng.ShuffleInPlace(docs);
        var context = string.Join("\n\n", docs.Select((d, i) => $"Document {i + 1}:\n{d}"));
        return new RulerPrompt(RulerTemplates.Fill(RulerTemplates.QaTemplate, ("query", q.Query), ("context", context)), RulerTemplates.QaAnswerPrefix, q.Answers);
    }
}
