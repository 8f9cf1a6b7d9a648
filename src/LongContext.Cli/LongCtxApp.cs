using System.CommandLine;
using LongContext.Cli.Commands;
using LongContext.Eval.Backends;

namespace LongContext.Cli;

/// <summary>Builds the `longctx` command tree; each command lives in Commands/ and stays thin over the libraries.</summary>
public static class LongCtxApp
{
    /// <param name="eval">Backends for the eval commands; default: the in-process engine's.</param>
    public static RootCommand BuildRoot(EvalBackends? eval = null)
    {
        var root = new RootCommand("LongContext: plan, extend, evaluate and serve Llama-family models at long context.");
        root.Options.Add(CliCommon.Json);
        root.Options.Add(CliCommon.Verbose);
        // One line per command; keep alphabetical.
        root.Subcommands.Add(AskCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(EvalCommand.Create(eval ?? Eval.Engine.EngineLocalGenerator.Backends()));
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
    public static async Task<int> RunAsync(string[] args, CancellationToken ct) => await RunAsync(args, ct, null, null);

    /// <summary>
    /// Runs with this invocation's own stdout/stderr and eval backends (null: the process's console, the engine), so
    /// tests can run commands that honour them (the eval commands) side by side.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, CancellationToken ct, InvocationConfiguration? io, EvalBackends? eval)
    {
        var root = BuildRoot(eval);
        // `launch` handles its own signals (it forwards them to its ranks); it replaces the library's termination handling.
        if (LaunchCommand.HandlesSignals(args))
            io = new InvocationConfiguration { Output = io?.Output ?? Console.Out, Error = io?.Error ?? Console.Error, ProcessTerminationTimeout = null };
        return await root.Parse(args).InvokeAsync(io, ct);
    }
}
