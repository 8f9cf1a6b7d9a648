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

    /// <summary>This invocation's stdout and stderr (the process's unless the caller passed its own, as parallel tests do).</summary>
    public static TextWriter Out(ParseResult p) => p.InvocationConfiguration.Output;
    public static TextWriter Err(ParseResult p) => p.InvocationConfiguration.Error;

    /// <summary>Writes one JSON line to this invocation's stdout.</summary>
    public static void WriteJson<T>(ParseResult p, T value) => Out(p).WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    /// <summary><see cref="Console"/> when the invocation writes to the process's stdout, else a plain console over its writer.</summary>
    public static IAnsiConsole ConsoleFor(ParseResult p) => ReferenceEquals(Out(p), System.Console.Out) ? Console : ConsoleOn(Out(p));

    /// <summary>A console without colour or live redraws over a writer (stderr for progress under --json, a test's writer).</summary>
    public static IAnsiConsole ConsoleOn(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = ReferenceEquals(writer, System.Console.Error) ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = ReferenceEquals(writer, System.Console.Error) ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = ReferenceEquals(writer, System.Console.Error) ? InteractionSupport.Detect : InteractionSupport.No,
    });

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
                Err(parse).WriteLine("cancelled");
                return 130;
            }
            catch (Exception e) when (e is LongContextException || !parse.GetValue(Verbose))
            {
                if (parse.GetValue(Verbose)) Err(parse).WriteLine(e);
                else Err(parse).WriteLine($"error: {e.Message}");
                return e is LongContextException ? 1 : 2;
            }
        });
    }

    public static void SetHandler(this Command command, Func<ParseResult, CancellationToken, int> action) =>
        command.SetHandler((p, ct) => Task.FromResult(action(p, ct)));
}
