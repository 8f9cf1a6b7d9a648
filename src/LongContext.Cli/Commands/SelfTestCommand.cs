using System.CommandLine;
using LongContext.Core.Diagnostics;
using LongContext.Core.Runtime;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx selftest`: numerical checks on this machine (fused kernels vs the fp32 fallback, ...).</summary>
public static class SelfTestCommand
{
    public sealed record Report(string Device, bool Passed, IReadOnlyList<SelfTestCheck> Checks);

    /// <summary>Checks contributed by other parts of the engine (model forward, ...).</summary>
    public static readonly List<Func<TorchSharp.torch.Device, IEnumerable<SelfTestCheck>>> ExtraChecks = [Training.Diagnostics.TrainingSelfTest.Checks, Training.Diagnostics.TrainingSelfTest.DocumentMaskChecks];

    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("selftest", "Run numerical self-checks: add-on attention and its backward vs the fallback, packed-document attention and training vs documents run alone, the model in bf16 vs fp32, graph decode vs eager steps, fused vs element-wise AdamW (bf16/fp32 tolerances).");
        cmd.Options.Add(device);
        cmd.SetHandler((parse, _) =>
        {
            var dev = TorchRuntime.ResolveDevice(parse.GetValue(device)!);
            var checks = SelfTest.Run(dev, ExtraChecks);
            var report = new Report(dev.ToString(), checks.All(c => c.Passed), checks);
            if (parse.GetValue(CliCommon.Json)) CliCommon.WriteJson(report);
            else Render(checks, dev.ToString());
            return report.Passed ? 0 : 1;
        });
        cmd.Subcommands.Add(SelfTestDistCommand.Create());
        cmd.Subcommands.Add(SelfTestRingCommand.Create());
        return cmd;
    }

    /// <summary>The checks as a table, then one line saying whether all passed.</summary>
    internal static void Render(IReadOnlyList<SelfTestCheck> checks, string where)
    {
        var t = new Table().AddColumns("Check", "Result", "Error", "Tolerance", "Detail").Border(TableBorder.Rounded);
        foreach (var c in checks)
            t.AddRow(Markup.Escape(c.Name), c.Passed ? "[green]pass[/]" : "[red]FAIL[/]",
                c.Error is null ? "" : c.Error.Value.ToString("E2"), c.Tolerance is null ? "" : c.Tolerance.Value.ToString("E0"), Markup.Escape(c.Detail));
        CliCommon.Console.Write(t);
        CliCommon.Console.MarkupLine(checks.All(c => c.Passed) ? $"[green]all {checks.Count} checks passed on {Markup.Escape(where)}[/]" : "[red]some checks failed[/]");
    }
}
