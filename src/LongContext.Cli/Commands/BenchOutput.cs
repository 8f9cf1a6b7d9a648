using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LongContext.Cli.Commands;

/// <summary>
/// Where a benchmark's results go while it runs, so a run cut short (a command time limit, an OOM that kills the
/// process) loses nothing it finished: each finished item is one JSON line, tagged with its "record" kind, on stdout
/// (with --json) and appended to --out (always, flushed per line); the summary is the last line of both. Progress
/// goes to stderr as short lines.
/// </summary>
public sealed class BenchOutput : IDisposable
{
    readonly bool json;
    readonly StreamWriter? file;

    public BenchOutput(bool json, string? outPath)
    {
        this.json = json;
        if (outPath is null) return;
        var full = Path.GetFullPath(outPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        file = new StreamWriter(new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
    }

    /// <summary>One finished item: {"record": kind, ...fields of value}.</summary>
    public void Item<T>(string kind, T value) => Line(Tagged(kind, value));

    /// <summary>The run's summary (last line of stdout and of --out).</summary>
    public void Summary<T>(T value)
    {
        if (file is not null) file.WriteLine(Tagged("summary", value).ToJsonString(CliCommon.JsonOptions));
        if (json) CliCommon.WriteJson(value);
    }

    /// <summary>A progress line on stderr (never on stdout, which --json keeps machine-readable).</summary>
    public static void Progress(FormattableString line) => Console.Error.WriteLine(line.ToString(CultureInfo.InvariantCulture));

    void Line(JsonObject node)
    {
        var text = node.ToJsonString(CliCommon.JsonOptions);
        file?.WriteLine(text);
        if (json) Console.Out.WriteLine(text);
    }

    static JsonObject Tagged<T>(string kind, T value)
    {
        var node = JsonSerializer.SerializeToNode(value, CliCommon.JsonOptions) as JsonObject
            ?? throw new ArgumentException($"a {kind} record must serialise to a JSON object", nameof(value));
        var tagged = new JsonObject { ["record"] = kind };
        foreach (var (k, v) in node.ToList())
        {
            node.Remove(k);
            tagged[k] = v;
        }
        return tagged;
    }

    public void Dispose() => file?.Dispose();
}
