using System.CommandLine;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval niah|ruler|icl|report`: long-context evaluation against an endpoint or the in-process engine.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var cmd = new Command("eval", "Evaluate long-context ability: NIAH, RULER, many-shot ICL; resumable runs with reports and plots.");
        cmd.Subcommands.Add(EvalNiahCommand.Create());
        cmd.Subcommands.Add(EvalRulerCommand.Create());
        cmd.Subcommands.Add(EvalIclCommand.Create());
        cmd.Subcommands.Add(EvalPasskeyCommand.Create());
        cmd.Subcommands.Add(EvalPerplexityCommand.Create());
        cmd.Subcommands.Add(EvalReportCommand.Create());
        return cmd;
    }
}
