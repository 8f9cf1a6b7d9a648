using System.Text.Json;
using LongContext.Cli;

namespace LongContext.Tests;

/// <summary>Runs `longctx` in-process with Console.Out/Error captured (use from <see cref="CliCollection"/> tests only).</summary>
internal static class CliRun
{
    public static async Task<(int Code, string Out, string Err)> Capture(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        // Not disposed: Spectre's AnsiConsole (CliCommon.Console), if first touched during a run, keeps writing to them.
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = await LongCtxApp.RunAsync(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    /// <summary>The JSON object a `--json` command prints as its last line.</summary>
    public static JsonElement LastJson(string output) =>
        JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1]).RootElement;
}
