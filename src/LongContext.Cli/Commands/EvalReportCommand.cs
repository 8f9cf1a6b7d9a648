using System.CommandLine;
using Spectre.Console;
using LongContext.Eval.Reports;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval report RUN_DIR`: rebuilds report.md, plots and summary.json from a run folder.</summary>
public static class EvalReportCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("run-dir") { Description = "Folder written by eval niah|ruler|icl --out" };
        var cmd = new Command("report", "Rebuild report.md, plots and summary.json of a run folder.");
        cmd.Arguments.Add(dir);
        cmd.SetHandler((p, _) =>
        {
            var summary = RunReport.Write(p.GetValue(dir)!);
            if (p.GetValue(CliCommon.Json)) CliCommon.WriteJson(p, summary);
            else CliCommon.ConsoleFor(p).MarkupLineInterpolated($"report: {summary["report"]?.ToString()}");
            return 0;
        });
        return cmd;
    }
}
