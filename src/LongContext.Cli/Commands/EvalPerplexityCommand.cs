using System.CommandLine;
using LongContext.Eval;
using LongContext.Eval.Backends;
using LongContext.Eval.Niah;
using LongContext.Eval.Perplexity;
using LongContext.Eval.Reports;
using LongContext.Training.Data;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval perplexity`: mean loss per position bucket on long documents, in-process, resumable.</summary>
public static class EvalPerplexityCommand
{
    public static Command Create(EvalBackends backends)
    {
        var model = new Option<string>("--model") { Description = "Model folder, run in-process", Required = true };
        var data = new Option<string>("--data") { Description = "Folder of text files, or a .jsonl file / folder of them (field --field)", Required = true };
        var format = new Option<string>("--format") { Description = "auto (a *.jsonl file is JSONL, a folder is text), text or jsonl", DefaultValueFactory = _ => "auto" };
        var field = new Option<string>("--field") { Description = "JSONL field holding the text", DefaultValueFactory = _ => "text" };
        var include = new Option<string[]>("--include") { Description = "Globs of files to read from a folder (default: all), e.g. **/*.txt", AllowMultipleArgumentsPerToken = true };
        var length = new Option<string>("--length") { Description = "Tokens scored per document (k = 1024), e.g. 64k: the curve's full length", Required = true };
        var bucket = new Option<string>("--bucket") { Description = "Position bucket size in tokens", DefaultValueFactory = _ => "1k" };
        var documents = new Option<int>("--documents") { Description = "Documents to score (the first long enough, in file order)", DefaultValueFactory = _ => 10 };
        var includeShort = new Option<bool>("--include-short") { Description = "Also score documents shorter than --length (later buckets then average fewer documents)" };
        var window = new Option<string>("--window") { Description = "none: each token sees its whole prefix (one KV-cached pass); N: sliding windows of N tokens moved by --stride", DefaultValueFactory = _ => "none" };
        var stride = new Option<int>("--stride") { Description = "Stride of --window N (PI and YaRN use 256)", DefaultValueFactory = _ => 256 };
        var chunk = new Option<int>("--chunk") { Description = "Tokens per forward pass (KV-cached between chunks; logits never [L, vocab])", DefaultValueFactory = _ => 4096 };
        var outDir = new Option<string>("--out") { Description = "Run folder (perplexity.jsonl, manifest.json, report.md, plot); rerunning resumes by document", Required = true };

        var cmd = new Command("perplexity", "Perplexity by position: mean loss per position bucket (0–1K, 1–2K, …) on long documents, table + PNG curve + JSON; compare runs with `eval compare`.");
        foreach (var o in new Option[] { model, data, format, field, include, length, bucket, documents, includeShort, window, stride, chunk, outDir }) cmd.Options.Add(o);
        cmd.SetHandler(async (p, ct) =>
        {
            var dataPath = p.GetValue(data)!;
            var fmt = p.GetValue(format)!.ToLowerInvariant() switch
            {
                "auto" => DataFormat.Auto, "text" => DataFormat.Text, "jsonl" => DataFormat.Jsonl,
                var f => throw new EvalException($"--format {f}: use auto, text or jsonl."),
            };
            var globs = p.GetValue(include);
            var folder = globs is { Length: > 0 } ? new FolderSourceOptions { Include = globs } : null;
            var source = DocumentSources.Open(dataPath, fmt, folder, p.GetValue(field)!);
            var options = new PerplexityOptions
            {
                Length = Single(p.GetValue(length)!, "--length"),
                BucketSize = Single(p.GetValue(bucket)!, "--bucket"),
                Documents = p.GetValue(documents),
                IncludeShort = p.GetValue(includeShort),
                Window = p.GetValue(window)!.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : Single(p.GetValue(window)!, "--window"),
                Stride = p.GetValue(stride),
                Chunk = p.GetValue(chunk),
            };
            var dataSource = Path.GetFullPath(dataPath) + (source is JsonlDocumentSource j ? $" (jsonl field {j.Field})" : globs is { Length: > 0 } ? $" ({string.Join(",", globs)})" : "");
            var dir = p.GetValue(outDir)!;
            var json = p.GetValue(CliCommon.Json);
            var scorer = backends.LossScorer(p.GetValue(model)!);
            PerplexityOutcome outcome;
            try
            {
                var lastLine = DateTime.MinValue;
                var progress = new Eval.Runs.InlineProgress<PerplexityProgress>(r =>
                {
                    // Concise lines on stderr: at each document's end and at most every 10 s within one.
                    if (r.TokensDone < r.Tokens && DateTime.UtcNow - lastLine < TimeSpan.FromSeconds(10)) return;
                    lastLine = DateTime.UtcNow;
                    CliCommon.Err(p).WriteLine($"perplexity: document {r.Document + 1}/{r.Documents} {r.Id}: {r.TokensDone}/{r.Tokens} tokens");
                });
                var docs = source.ReadDocuments(ct).Select(d => new PerplexityDocument(d.Id, d.Text));
                outcome = await Task.Run(() => PerplexitySuite.Run(scorer, docs, options, dataSource, dir, progress, ct), ct);
            }
            finally { (scorer as IDisposable)?.Dispose(); }
            var summary = RunReport.Write(dir);
            summary["scored_now"] = outcome.Scored;
            summary["resumed"] = outcome.Resumed;
            summary["too_short"] = outcome.TooShort;
            if (json) CliCommon.WriteJson(p, summary);
            else
            {
                var console = CliCommon.ConsoleFor(p);
                console.MarkupLineInterpolated($"[bold]perplexity[/]: {outcome.Scored} documents scored, {outcome.Resumed} resumed, {outcome.TooShort} too short");
                console.MarkupLineInterpolated($"  perplexity: {summary["perplexity"]?.ToJsonString()}  mean NLL: {summary["mean_nll"]?.ToJsonString()}");
                console.MarkupLineInterpolated($"  report: {summary["report"]?.ToString()}");
            }
            return 0;
        });
        return cmd;
    }

    private static int Single(string spec, string option)
    {
        var list = NiahGrid.ParseLengths(spec);
        return list.Count == 1 ? list[0] : throw new EvalException($"{option}: give one value, e.g. 64k.");
    }
}
