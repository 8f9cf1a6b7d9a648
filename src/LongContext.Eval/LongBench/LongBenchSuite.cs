using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LongContext.Formats.Tokenization;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;
using LongContext.Eval.Text;

namespace LongContext.Eval.LongBench;

public sealed record LongBenchOptions
{
    /// <summary>Token budget of a prompt before the chat template (LongBench's model2maxlen.json: 120000 for 128K models).</summary>
    public int MaxLength { get; init; } = 120_000;
    /// <summary>pred.py --cot: reason first (1024 tokens), then a second call extracts the answer (128 tokens).</summary>
    public bool Cot { get; init; }
    /// <summary>Only questions of these difficulties / length categories / domains (null: all).</summary>
    public IReadOnlyList<string>? Difficulties { get; init; }
    public IReadOnlyList<string>? LengthCategories { get; init; }
    public IReadOnlyList<string>? Domains { get; init; }
    /// <summary>The first N selected questions in file order (null: all).</summary>
    public int? Limit { get; init; }
}

/// <summary>
/// LongBench v2 (THUDM, Apache-2.0) as its pred.py and result.py run it: the 0-shot (or CoT) template, the prompt
/// truncated in the middle to <see cref="LongBenchOptions.MaxLength"/> tokens of the model's tokenizer, one user
/// message, answers extracted with its two regexes after removing '*', accuracy overall and by difficulty, length
/// category and domain. Differences, stated in the report: decoding is greedy (pred.py samples at temperature 0.1), and
/// an empty or failed response counts (pred.py drops it from the denominator).
/// </summary>
public static partial class LongBenchSuite
{
    public const string SuiteName = "longbench2";

    public static (RunManifest Manifest, List<EvalItemPlan> Plans) Plan(LongBenchOptions options, LongBenchData data, EvalSession session)
    {
        if (options.MaxLength < 16) throw new EvalException("--max-length must be at least 16 tokens.");
        var selected = data.Items.Where(i =>
            (options.Difficulties is null || options.Difficulties.Contains(i.Difficulty)) &&
            (options.LengthCategories is null || options.LengthCategories.Contains(i.Length)) &&
            (options.Domains is null || options.Domains.Contains(i.Domain))).ToList();
        if (options.Limit is int n) selected = selected.Take(n).ToList();
        if (selected.Count == 0) throw new EvalException($"{data.Path}: no question matches the --difficulty/--length-category/--domain filters.");
        var config = session.WithModel(new JsonObject
        {
            ["suite"] = SuiteName,
            ["data"] = $"{System.IO.Path.GetFileName(data.Path)} ({data.Items.Count} questions, {data.Bytes} bytes)",
            ["max_length"] = options.MaxLength,
            ["cot"] = options.Cot,
        });
        var hash = RunManifest.Hash(config);
        var tokenizer = session.Measurer.Tokenizer;
        var plans = selected.Select(meta => new EvalItemPlan(SuiteName, meta.Domain, options.MaxLength, meta.Id, null, () =>
        {
            var item = data.Read(meta);
            var (prompt, truncated) = Truncate(LongBenchPrompts.Fill(options.Cot ? LongBenchPrompts.ZeroShotCot : LongBenchPrompts.ZeroShot, item), tokenizer, options.MaxLength);
            string? pred = null, cotResponse = null;
            async Task<double> Score(string output, CancellationToken ct)
            {
                var response = PythonStrings.Strip(output);
                if (options.Cot)
                {
                    cotResponse = response;
                    var (second, _) = Truncate(LongBenchPrompts.Fill(LongBenchPrompts.ZeroShotCotAnswer, item, response), tokenizer, options.MaxLength);
                    response = PythonStrings.Strip((await session.Backend.GenerateAsync(GenerationRequest.FromUser(second, "", 128), ct).ConfigureAwait(false)).Text);
                }
                pred = ExtractAnswer(response);
                return pred == item.Answer ? 100 : 0;
            }
            return new EvalItem(GenerationRequest.FromUser(prompt, "", options.Cot ? 1024 : 128), [item.Answer!], Score, prompt, session.Measurer.Count(prompt, ""))
            {
                Details = () => new JsonObject
                {
                    ["pred"] = pred, ["answer"] = item.Answer, ["difficulty"] = meta.Difficulty, ["length"] = meta.Length,
                    ["domain"] = meta.Domain, ["sub_domain"] = meta.SubDomain, ["truncated"] = truncated, ["response_cot"] = cotResponse,
                },
            };
        })).ToList();
        var manifest = new RunManifest
        {
            Suite = SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = session.Placement,
            Lengths = [options.MaxLength],
            Tasks = [new TaskNote(SuiteName, true, selected.Count == data.Items.Count,
                $"{selected.Count} of {data.Items.Count} questions; {(options.Cot ? "CoT" : "0-shot")} template; middle truncation to {options.MaxLength} tokens; greedy decoding (pred.py: temperature 0.1)")],
        };
        return (manifest, plans);
    }

    /// <summary>
    /// pred.py's truncation: encode with the tokenizer's special tokens; over the budget, keep the first ⌊max/2⌋ and the
    /// last ⌈max/2⌉ tokens (Python's ids[:max//2] + ids[-max//2:]) and decode without special tokens.
    /// </summary>
    public static (string Prompt, bool Truncated) Truncate(string prompt, ITextTokenizer tokenizer, int maxLength)
    {
        var ids = tokenizer.Encode(prompt, addSpecialTokens: true);
        if (ids.Count <= maxLength) return (prompt, false);
        var head = maxLength / 2;
        var kept = ids.Take(head).Concat(ids.Skip(ids.Count - (maxLength - head)));
        return (tokenizer.Decode(kept, skipSpecialTokens: true), true);
    }

    [GeneratedRegex(@"The correct answer is \(([A-D])\)")]
    private static partial Regex Parenthesised();

    [GeneratedRegex(@"The correct answer is ([A-D])")]
    private static partial Regex Bare();

    /// <summary>pred.py's extract_answer: drop '*', then "The correct answer is (X)", else "The correct answer is X"; null when neither matches.</summary>
    public static string? ExtractAnswer(string response)
    {
        response = response.Replace("*", "");
        var m = Parenthesised().Match(response);
        if (!m.Success) m = Bare().Match(response);
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>The report over every record of the run: a failed request counts as wrong in every column (it is retried on resume).</summary>
    internal static void WriteReport(RunManifest m, List<ResultRecord> records, StringBuilder md, JsonObject summary)
    {
        string Get(ResultRecord r, string k) => r.Details?[k]?.GetValue<string>() ?? "?";
        static double Points(ResultRecord r) => r.Error is null ? r.Score : 0;
        double Acc(IEnumerable<ResultRecord> rs) => rs.Any() ? rs.Average(Points) : double.NaN;
        // result.py's "compensated" variant: a response without an extractable answer scores 0.25 (chance).
        double Comp(IEnumerable<ResultRecord> rs) => rs.Any() ? rs.Average(r => r.Error is null && r.Details?["pred"] is null ? 25 : Points(r)) : double.NaN;
        string F(double v) => double.IsNaN(v) ? "–" : Math.Round(v, 1).ToString("0.0", CultureInfo.InvariantCulture);
        JsonNode? J(double v) => double.IsNaN(v) ? null : Math.Round(v, 1);
        var failed = records.Count(r => r.Error is not null);

        var groups = new (string Column, Func<ResultRecord, bool> Pick)[]
        {
            ("Overall", _ => true), ("Easy", r => Get(r, "difficulty") == "easy"), ("Hard", r => Get(r, "difficulty") == "hard"),
            ("Short", r => Get(r, "length") == "short"), ("Medium", r => Get(r, "length") == "medium"), ("Long", r => Get(r, "length") == "long"),
        };
        md.AppendLine("## LongBench v2 accuracy (%)").AppendLine();
        md.AppendLine("| | " + string.Join(" | ", groups.Select(g => g.Column)) + " |").AppendLine("|---|" + string.Concat(groups.Select(_ => "---|")));
        md.AppendLine("| accuracy | " + string.Join(" | ", groups.Select(g => F(Acc(records.Where(g.Pick))))) + " |");
        md.AppendLine("| compensated | " + string.Join(" | ", groups.Select(g => F(Comp(records.Where(g.Pick))))) + " |");
        md.AppendLine("| questions | " + string.Join(" | ", groups.Select(g => records.Count(g.Pick).ToString(CultureInfo.InvariantCulture))) + " |").AppendLine();
        md.AppendLine("Columns as THUDM/LongBench result.py (Overall, Easy, Hard, Short, Medium, Long); compensated counts a response without an extractable answer as 25%.").AppendLine();

        md.AppendLine("## By domain").AppendLine().AppendLine("| domain | sub-domain | accuracy | questions |").AppendLine("|---|---|---|---|");
        var byDomain = new JsonObject();
        foreach (var d in records.GroupBy(r => Get(r, "domain")).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            md.AppendLine($"| **{d.Key}** | all | **{F(Acc(d))}** | {d.Count()} |");
            var subs = new JsonObject();
            foreach (var s in d.GroupBy(r => Get(r, "sub_domain")).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                md.AppendLine($"| | {s.Key} | {F(Acc(s))} | {s.Count()} |");
                subs[s.Key] = J(Acc(s));
            }
            byDomain[d.Key] = new JsonObject { ["accuracy"] = J(Acc(d)), ["questions"] = d.Count(), ["sub_domains"] = subs };
        }
        var noAnswer = records.Count(r => r.Error is null && r.Details?["pred"] is null);
        var truncated = records.Count(r => r.Details?["truncated"]?.GetValue<bool>() == true);
        md.AppendLine().AppendLine($"- Responses without an extractable answer: {noAnswer}; prompts truncated in the middle: {truncated}; failed requests: {failed} (counted as wrong above, and retried on resume).");
        foreach (var t in m.Tasks) md.AppendLine($"- {t.Note}.");
        md.AppendLine("- Prompts and extraction from THUDM/LongBench (Apache-2.0) pred.py, result.py and prompts/ at 2e00731.");

        foreach (var (column, pick) in groups) summary[column.ToLowerInvariant()] = J(Acc(records.Where(pick)));
        summary["score"] = J(Acc(records));
        summary["compensated"] = J(Comp(records));
        summary["by_domain"] = byDomain;
        summary["comparable"] = failed == 0 && m.Tasks.All(t => t.Comparable);
        summary["no_answer"] = noAnswer;
        summary["truncated"] = truncated;
    }
}
