using System.CommandLine;
using LongContext.Eval.Backends;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval niah|ruler|icl|passkey|perplexity|longbench2|nolima|report|compare`: long-context evaluation against an endpoint or the in-process engine.</summary>
public static class EvalCommand
{
    public static Command Create(EvalBackends backends)
    {
        var cmd = new Command("eval", "Evaluate long-context ability: NIAH, RULER, many-shot ICL, passkey, perplexity by position, LongBench v2, NoLiMa; resumable runs with reports and plots; compare runs.");
        cmd.Subcommands.Add(EvalNiahCommand.Create(backends));
        cmd.Subcommands.Add(EvalRulerCommand.Create(backends));
        cmd.Subcommands.Add(EvalIclCommand.Create(backends));
        cmd.Subcommands.Add(EvalReportCommand.Create());
        // The evaluations beyond RULER, and the comparison of runs.
        cmd.Subcommands.Add(EvalPasskeyCommand.Create(backends));
        cmd.Subcommands.Add(EvalPerplexityCommand.Create(backends));
        cmd.Subcommands.Add(EvalLongBenchCommand.Create(backends));
        cmd.Subcommands.Add(EvalNoLiMaCommand.Create(backends));
        cmd.Subcommands.Add(EvalCompareCommand.Create());
        return cmd;
    }
}
