namespace LongContext.Tests;

/// <summary>
/// Tests that run `longctx` commands in-process or swap process-wide state (Console.Out/Error, CliCommon.Console, the
/// eval backend factories). A command writes to whatever Console.Out is at that moment, so such tests must never run
/// beside each other: this collection runs alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    public const string Name = "Cli";
}
