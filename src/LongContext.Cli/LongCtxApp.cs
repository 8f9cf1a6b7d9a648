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

    /// <summary>The process entry point: Ctrl+C / SIGTERM cancel the run cleanly (see <see cref="TerminationSignals"/>).</summary>
    public static async Task<int> RunWithTerminationSignalsAsync(string[] args)
    {
        if (LaunchCommand.HandlesSignals(args)) return await RunAsync(args, CancellationToken.None);   // it forwards them to its ranks
        using var signals = new TerminationSignals();
        return await RunAsync(args, signals.Token);
    }

    /// <summary>Runs with an external cancellation token (tests stop a run midway with it).</summary>
    public static async Task<int> RunAsync(string[] args, CancellationToken ct) => await RunAsync(args, ct, null, null);

    /// <summary>
    /// Runs with this invocation's own stdout/stderr and eval backends (null: the process's console, the engine), so
    /// tests can run commands that honour them (the eval commands) side by side.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, CancellationToken ct, InvocationConfiguration? io, EvalBackends? eval)
    {
        var root = BuildRoot(eval);
        // No response files: a value such as `--prompt @notes` is text, not a file of arguments to splice in.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        // Cancellation comes only from `ct` (TerminationSignals) or the launcher's own handlers: System.CommandLine's
        // would return from Main 2 s after Ctrl+C while a command is still inside libtorch, or orphan the ranks.
        io = new InvocationConfiguration { Output = io?.Output ?? Console.Out, Error = io?.Error ?? Console.Error, ProcessTerminationTimeout = null };
        return await parse.InvokeAsync(io, ct);
    }
}
