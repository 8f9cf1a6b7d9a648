using System.CommandLine;
using LongContext.Eval.Compare;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval compare RUN RUN…`: runs of one suite side by side (base vs extension stages), Markdown + PNG + JSON.</summary>
public static class EvalCompareCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run folders of one suite (niah, ruler, passkey, perplexity, nolima, longbench2, icl); the first is the baseline", Arity = ArgumentArity.OneOrMore };
        var labels = new Option<string?>("--labels") { Description = "Comma-separated names for the runs (default: folder names)" };
        var outDir = new Option<string>("--out") { Description = "Folder for compare.md, compare.json and the PNGs", Required = true };
        var cmd = new Command("compare", "Put runs side by side: per-length tables with deltas against the first run, score or loss curves, heatmaps next to each other.");
        cmd.Arguments.Add(runs);
        cmd.Options.Add(labels);
        cmd.Options.Add(outDir);
        cmd.SetHandler((p, _) =>
        {
            var names = p.GetValue(labels)?.Split(',', StringSplitOptions.TrimEntries);
            var result = RunComparison.Write(p.GetValue(runs)!, names, p.GetValue(outDir)!);
            if (p.GetValue(CliCommon.Json)) CliCommon.WriteJson(p, result);
            else CliCommon.ConsoleFor(p).MarkupLineInterpolated($"comparison of {p.GetValue(runs)!.Length} {result["suite"]} runs: {result["report"]?.ToString()}");
            return 0;
        });
        return cmd;
    }
}
