using System.Text.Json;

namespace LongContext.Eval.Runs;

/// <summary>Append-only JSON Lines files: each line is written and flushed at once; reading skips a line torn by a kill.</summary>
public static class JsonLines
{
    public static void Append<T>(string path, T record)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.AppendAllText(path, JsonSerializer.Serialize(record) + "\n");
    }

    public static List<T> Read<T>(string path) where T : class
    {
        var list = new List<T>();
        if (!File.Exists(path)) return list;
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try { if (JsonSerializer.Deserialize<T>(line) is { } r) list.Add(r); }
            catch (JsonException) { /* a line torn by a kill */ }
        }
        return list;
    }
}
