using System.CommandLine;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval niah|ruler|icl|passkey|perplexity|longbench2|nolima|report|compare`: long-context evaluation against an endpoint or the in-process engine.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var cmd = new Command("eval", "Evaluate long-context ability: NIAH, RULER, many-shot ICL, passkey, perplexity by position, LongBench v2, NoLiMa; resumable runs with reports and plots; compare runs.");
        cmd.Subcommands.Add(EvalNiahCommand.Create());
        cmd.Subcommands.Add(EvalRulerCommand.Create());
        cmd.Subcommands.Add(EvalIclCommand.Create());
        cmd.Subcommands.Add(EvalReportCommand.Create());
        // The evaluations beyond RULER, and the comparison of runs.
        cmd.Subcommands.Add(EvalPasskeyCommand.Create());
        cmd.Subcommands.Add(EvalPerplexityCommand.Create());
        cmd.Subcommands.Add(EvalLongBenchCommand.Create());
        cmd.Subcommands.Add(EvalNoLiMaCommand.Create());
        cmd.Subcommands.Add(EvalCompareCommand.Create());
        return cmd;
    }
}
