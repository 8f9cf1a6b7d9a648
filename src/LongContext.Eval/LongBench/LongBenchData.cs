using System.Text.Json;
using LongContext.Eval.Text;

namespace LongContext.Eval.LongBench;

/// <summary>What a plan needs of a question before its context is read.</summary>
public sealed record LongBenchMeta(string Id, string Domain, string SubDomain, string Difficulty, string Length, JsonRecordSpan Span);

/// <summary>
/// A user-provided LongBench v2 data.json (a JSON array, as on the Hugging Face dataset page) or a JSON Lines copy.
/// Indexed once without keeping the contexts (the file is 465 MB); each question is read back from its byte range
/// when its prompt is built.
/// </summary>
public sealed class LongBenchData
{
    private static readonly string[] Required = ["_id", "domain", "sub_domain", "difficulty", "length", "question", "choice_A", "choice_B", "choice_C", "choice_D", "answer", "context"];

    public string Path { get; }
    public IReadOnlyList<LongBenchMeta> Items { get; }
    public long Bytes { get; }

    private LongBenchData(string path, List<LongBenchMeta> items, long bytes) => (Path, Items, Bytes) = (path, items, bytes);

    public static LongBenchData Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var items = new List<LongBenchMeta>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var span in JsonRecordIndex.Build(full))
        {
            var item = Parse(full, span, items.Count);
            if (!ids.Add(item.Id!)) throw new EvalException($"{path}: question {items.Count} repeats _id '{item.Id}'.");
            items.Add(new LongBenchMeta(item.Id!, item.Domain!, item.SubDomain!, item.Difficulty!, item.Length!, span));
        }
        if (items.Count == 0) throw new EvalException($"{path}: no questions found.");
        return new LongBenchData(full, items, new FileInfo(full).Length);
    }

    /// <summary>The full question, context included.</summary>
    public LongBenchItem Read(LongBenchMeta meta) => Parse(Path, meta.Span, -1);

    private static LongBenchItem Parse(string path, JsonRecordSpan span, int index)
    {
        var bytes = JsonRecordIndex.Read(path, span);
        var where = index >= 0 ? $"question {index}" : $"the question at byte {span.Offset}";
        LongBenchItem item;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            foreach (var field in Required)
                if (!doc.RootElement.TryGetProperty(field, out var v) || v.ValueKind != JsonValueKind.String)
                    throw new EvalException($"{path}: {where} has no string field \"{field}\"; is this LongBench v2's data.json?");
            item = doc.RootElement.Deserialize<LongBenchItem>()!;
        }
        catch (JsonException e) { throw new EvalException($"{path}: {where} is not valid JSON ({e.Message})."); }
        if (item.Answer is not ("A" or "B" or "C" or "D")) throw new EvalException($"{path}: {where} (_id {item.Id}) has answer '{item.Answer}'; expected A, B, C or D.");
        return item;
    }
}
