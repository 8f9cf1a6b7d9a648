using System.Text.Json;

namespace LongContext.Eval.Runs;

/// <summary>
/// results.jsonl of a run folder: each finished item is appended and flushed at once, so a killed run loses only items
/// in flight. Loading tolerates a torn last line. An item counts as done when a record without error has its key.
/// </summary>
public sealed class ResultStore
{
    public const string FileName = "results.jsonl";
    private readonly object _lock = new();
    private readonly Dictionary<string, ResultRecord> _done = new(StringComparer.Ordinal);
    private readonly string _path;

    public ResultStore(string runDir)
    {
        Directory.CreateDirectory(runDir);
        _path = Path.Combine(runDir, FileName);
        foreach (var r in Read(runDir)) if (r.Error is null) _done[r.Key] = r;
    }

    public string FilePath => _path;
    public bool IsDone(string key) { lock (_lock) return _done.ContainsKey(key); }
    public int DoneCount { get { lock (_lock) return _done.Count; } }

    public void Append(ResultRecord record)
    {
        var line = JsonSerializer.Serialize(record) + "\n";
        lock (_lock)
        {
            File.AppendAllText(_path, line);
            if (record.Error is null) _done[record.Key] = record;
        }
    }

    /// <summary>Every record of a run folder (the latest record wins per key), skipping unreadable lines.</summary>
    public static List<ResultRecord> Read(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        var byKey = new Dictionary<string, ResultRecord>(StringComparer.Ordinal);
        if (!File.Exists(path)) return [];
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                if (JsonSerializer.Deserialize<ResultRecord>(line) is { } r && (r.Error is null || !byKey.ContainsKey(r.Key) || byKey[r.Key].Error is not null))
                    byKey[r.Key] = r;
            }
            catch (JsonException) { /* a line torn by a kill */ }
        }
        return byKey.Values.ToList();
    }
}
