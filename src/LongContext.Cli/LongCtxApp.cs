using System.CommandLine;
using LongContext.Cli.Commands;

namespace LongContext.Cli;

/// <summary>Builds the `longctx` command tree; each command lives in Commands/ and stays thin over the libraries.</summary>
public static class LongCtxApp
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("LongContext: plan, extend, evaluate and serve Llama-family models at long context.");
        root.Options.Add(CliCommon.Json);
        root.Options.Add(CliCommon.Verbose);
        // One line per command; keep alphabetical.
        root.Subcommands.Add(AskCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(ExtendCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(LaunchCommand.Create());
        root.Subcommands.Add(PerplexityCommand.Create());
        root.Subcommands.Add(PlanCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(QuickstartCommand.Create());
        root.Subcommands.Add(SelfTestCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        return root;
    }

    public static async Task<int> RunAsync(string[] args) => await RunAsync(args, CancellationToken.None);

    /// <summary>Runs with an external cancellation token (tests stop a run midway with it).</summary>
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var root = BuildRoot();
        var config = LaunchCommand.HandlesSignals(args) ? new InvocationConfiguration { ProcessTerminationTimeout = null } : null;
        return await root.Parse(args).InvokeAsync(config, ct);
    }
}
