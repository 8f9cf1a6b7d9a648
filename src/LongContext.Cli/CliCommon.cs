using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace LongContext.Cli;

/// <summary>Options every command shares and the one place where errors become exit codes.</summary>
public static class CliCommon
{
    public static readonly Option<bool> Json = new("--json") { Description = "Print machine-readable JSON (the summary is the last line)", Recursive = true };
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Show stack traces on errors", Recursive = true };

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    /// <summary>The console commands write to; tests swap in a TestConsole.</summary>
    public static IAnsiConsole Console { get; set; } = AnsiConsole.Console;

    /// <summary>Writes one JSON line to stdout (not through Spectre, which would wrap or colour it).</summary>
    public static void WriteJson<T>(T value) => System.Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    /// <summary>Sets a command's action with uniform error handling: user errors print one line and exit 1.</summary>
    public static void SetHandler(this Command command, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                return await action(parse, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                System.Console.Error.WriteLine("cancelled");
                return 130;
            }
            catch (Exception e) when (e is LongContextException || !parse.GetValue(Verbose))
            {
                if (parse.GetValue(Verbose)) System.Console.Error.WriteLine(e);
                else System.Console.Error.WriteLine($"error: {e.Message}");
                return e is LongContextException ? 1 : 2;
            }
        });
    }

    public static void SetHandler(this Command command, Func<ParseResult, CancellationToken, int> action) =>
        command.SetHandler((p, ct) => Task.FromResult(action(p, ct)));
}
