using System.CommandLine;
using LongContext.Formats;
using LongContext.Core.Inference;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx perplexity`: mean NLL over predicted tokens of a text file (BOS as the tokenizer adds it).</summary>
public static class PerplexityCommand
{
    public sealed record Result(int TokenCount, double MeanNll, double Perplexity);

    public static Command Create()
    {
        var model = EngineOptions.Model();
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();
        var textFile = new Option<string>("--text-file") { Description = "UTF-8 text to score, read byte-exact (a leading BOM stays U+FEFF)", Required = true };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Score only the first N tokens" };
        var chunk = new Option<int>("--chunk") { Description = "Tokens per forward (KV-cached between chunks)", DefaultValueFactory = _ => 4096 };
        var cmd = new Command("perplexity", "Perplexity of a model on a text file, computed in chunks (never [n, vocab] logits at once).");
        foreach (var o in new Option[] { model, device, dtype, textFile, maxTokens, chunk }) cmd.Options.Add(o);
        cmd.SetHandler((parse, ct) =>
        {
            var path = parse.GetValue(textFile)!;
            string text = Utf8Text.ReadFile(path, $"--text-file {path}");
            using var session = EngineOptions.Open(parse.GetValue(model)!, parse.GetValue(device)!, parse.GetValue(dtype));
            var ids = session.Tokenizer.Encode(text).ToList();
            if (parse.GetValue(maxTokens) is int n && n < ids.Count) ids = ids.Take(n).ToList();
            var r = Perplexity.Compute(session.Model, ids, session.Backend, parse.GetValue(chunk), ct: ct);
            var result = new Result(r.TokenCount, r.MeanNll, r.Perplexity);
            if (parse.GetValue(CliCommon.Json)) CliCommon.WriteJson(result);
            else CliCommon.Console.MarkupLine($"tokens [bold]{r.TokenCount}[/]  mean NLL [bold]{r.MeanNll:F5}[/]  perplexity [bold]{r.Perplexity:F4}[/]");
            return 0;
        });
        return cmd;
    }
}
