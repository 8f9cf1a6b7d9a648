namespace LongContext.Tests;

/// <summary>
/// Tests that run `longctx` commands in-process or swap process-wide state (Console.Out/Error, CliCommon.Console).
/// A command writes to whatever Console.Out is at that moment, so such tests must never run beside each other: this
/// collection runs alone, after the parallel ones. Eval commands need none of it: they take injected backends and
/// writers (Eval/EvalCli.cs) and run in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    public const string Name = "Cli";
}
