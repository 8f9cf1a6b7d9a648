using System.CommandLine;
using LongContext.Core.Diagnostics;
using LongContext.Core.Runtime;
using LongContext.Parallel.ContextParallel;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx selftest ring`: both context-parallel variants against single-device attention, ranks as threads.</summary>
public static class SelfTestRingCommand
{
    public static Command Create()
    {
        var worldSizes = new Option<string>("--world-size") { Description = "Context-parallel degrees to check, e.g. 2,3,4,8", DefaultValueFactory = _ => "2,3,4,8" };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto (the ranks share this one device)", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("ring", "Check zigzag ring and all-gather context-parallel attention (output, LSE, dq/dk/dv) against single-device attention: "
            + "each world size with N ranks as threads on one device, with and without packed documents, GQA 4:1 and 8:1, bf16 (2e-2) and fp32 (1e-5).");
        cmd.Options.Add(worldSizes);
        cmd.Options.Add(device);
        cmd.SetHandler((parse, ct) =>
        {
            var sizes = ParseSizes(parse.GetValue(worldSizes)!);
            var dev = TorchRuntime.ResolveDevice(parse.GetValue(device)!);
            bool json = parse.GetValue(CliCommon.Json);
            var checks = new List<SelfTestCheck>();
            foreach (var c in ContextParallelSelfTest.Run(dev, sizes))
            {
                ct.ThrowIfCancellationRequested();
                checks.Add(c);
                // One short line per check as it completes (stderr under --json); the per-tensor errors are in --json
                // and shown on failure.
                string line = $"{(c.Passed ? "pass" : "FAIL")} {c.Name}" + (c.Error is null ? "" : $" {c.Error:E1}") + (c.Passed ? "" : $"  {c.Detail}");
                if (json) Console.Error.WriteLine(line);
                else CliCommon.Console.MarkupLine(c.Passed ? $"[green]{Markup.Escape(line)}[/]" : $"[red]{Markup.Escape(line)}[/]");
            }
            var report = new SelfTestCommand.Report(dev.ToString(), checks.All(c => c.Passed), checks);
            if (json) CliCommon.WriteJson(report);
            else CliCommon.Console.MarkupLine(report.Passed ? $"[green]all {checks.Count} ring checks passed on {dev}[/]" : "[red]some ring checks failed[/]");
            return report.Passed ? 0 : 1;
        });
        return cmd;
    }

    static int[] ParseSizes(string text)
    {
        var sizes = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, out int n) && n >= 1 ? n : throw new ContextParallelException($"--world-size '{s}': expected positive integers, e.g. 2,3,4,8."))
            .ToArray();
        return sizes.Length > 0 ? sizes : throw new ContextParallelException("--world-size: give at least one size, e.g. 2,3,4,8.");
    }
}
