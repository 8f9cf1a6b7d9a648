using System.CommandLine;
using LongContext.Parallel.Launch;

namespace LongContext.Cli.Commands;

/// <summary>`longctx launch`: one process per GPU (or per CPU rank) running a longctx command, torchrun-style.</summary>
public static class LaunchCommand
{
    public static Command Create()
    {
        var nproc = new Option<int>("--nproc-per-node") { Description = "Processes (ranks) to start on this node: one per GPU", Required = true };
        var nnodes = new Option<int>("--nnodes") { Description = "Nodes in the job (start `longctx launch` on each)", DefaultValueFactory = _ => 1 };
        var nodeRank = new Option<int>("--node-rank") { Description = "This node's index, 0 … nnodes-1 (node 0 hosts the rendezvous store)", DefaultValueFactory = _ => 0 };
        var addr = new Option<string?>("--master-addr") { Description = "Node 0's address (default 127.0.0.1; required with --nnodes > 1)" };
        var port = new Option<int>("--master-port") { Description = "Rendezvous port on node 0 (default: a free port; required with --nnodes > 1)", DefaultValueFactory = _ => 0 };
        var gpus = new Option<string>("--gpus") { Description = "auto: one GPU per rank via CUDA_VISIBLE_DEVICES when GPUs exist; none: leave devices alone (CPU ranks); or a list like 0,1,2,3", DefaultValueFactory = _ => "auto" };
        var exec = new Option<bool>("--exec") { Description = "Run the program after -- directly instead of a longctx subcommand (like torchrun --no-python)" };
        var command = new Argument<string[]>("command") { Description = "After --: the longctx command each rank runs, e.g. -- bench train --steps 20", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("launch", "Start N ranks of a longctx command (torchrun's variables; one GPU per rank; output prefixed [rank k]; Ctrl-C/SIGTERM forwarded; the group stops when one rank fails, with its exit code). Example: longctx launch --nproc-per-node 8 -- extend --model DIR ...");
        foreach (var o in new Option[] { nproc, nnodes, nodeRank, addr, port, gpus, exec }) cmd.Options.Add(o);
        cmd.Arguments.Add(command);
        cmd.SetHandler((parse, _) =>
        {
            var words = parse.GetValue(command)!;
            var (program, prefix) = parse.GetValue(exec) ? (words[0], words[1..]) : Resolve(words);
            var options = new LaunchOptions(parse.GetValue(nproc), parse.GetValue(nnodes), parse.GetValue(nodeRank), parse.GetValue(addr), parse.GetValue(port), parse.GetValue(gpus)!);
            return Launcher.Run(options, program, prefix, Console.Out, Console.Error);
        });
        return cmd;
    }

    static (string, string[]) Resolve(string[] subcommand)
    {
        var (program, prefix) = LongctxExecutable.Resolve();
        return (program, [.. prefix, .. subcommand]);
    }

    /// <summary>
    /// The launcher handles SIGINT/SIGTERM itself (forwards them, then waits for the ranks), so System.CommandLine's
    /// own handling, which would return after 2 s and orphan the ranks, is turned off for it.
    /// </summary>
    public static bool HandlesSignals(string[] args) => args.Length > 0 && args[0] == "launch";
}
