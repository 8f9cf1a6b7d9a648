using System.CommandLine;
using LongContext.Eval.Backends;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval niah|ruler|icl|report`: long-context evaluation against an endpoint or the in-process engine.</summary>
public static class EvalCommand
{
    public static Command Create(EvalBackends backends)
    {
        var cmd = new Command("eval", "Evaluate long-context ability: NIAH, RULER, many-shot ICL; resumable runs with reports and plots.");
        cmd.Subcommands.Add(EvalNiahCommand.Create(backends));
        cmd.Subcommands.Add(EvalRulerCommand.Create(backends));
        cmd.Subcommands.Add(EvalIclCommand.Create(backends));
        cmd.Subcommands.Add(EvalReportCommand.Create());
        return cmd;
    }
}
