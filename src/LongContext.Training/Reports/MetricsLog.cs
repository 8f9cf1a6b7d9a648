using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using LongContext.Training.Loop;

namespace LongContext.Training.Reports;

/// <summary>metrics.jsonl: one <see cref="StepMetrics"/> JSON object per line, appended and flushed after each step.</summary>
public static class MetricsLog
{
    public const string FileName = "metrics.jsonl";

    static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string ToJsonLine(StepMetrics m) => JsonSerializer.Serialize(m, Json);

    public static void Append(string path, StepMetrics m)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        var bytes = Encoding.UTF8.GetBytes(ToJsonLine(m) + "\n");
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>All complete lines (a torn last line from a crash is skipped).</summary>
    public static IReadOnlyList<StepMetrics> Read(string path)
    {
        if (!File.Exists(path)) return [];
        var result = new List<StepMetrics>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                result.Add(JsonSerializer.Deserialize<StepMetrics>(line, Json)!);
            }
            catch (JsonException)
            {
                // An interrupted append leaves a partial last line; everything before it is intact.
            }
        }
        return result;
    }

    /// <summary>Keeps only the lines of steps ≤ <paramref name="step"/> (a resume drops steps the checkpoint does not contain).</summary>
    public static void TruncateAfter(string path, int step)
    {
        if (!File.Exists(path)) return;
        var kept = Read(path).Where(m => m.Step <= step).Select(ToJsonLine).ToList();
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, kept.Count == 0 ? "" : string.Join("\n", kept) + "\n", new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }
}
