using System.Text;
using System.Text.Json;

namespace LongContext.Eval.Runs;

/// <summary>
/// results.jsonl of a run folder: each finished item is appended and flushed at once, so a killed run loses only items
/// in flight. An item counts as done when a record without error has its key.
/// </summary>
/// <remarks>
/// A kill during a write leaves a torn last line without its newline; appending after it would glue the next record
/// onto it and lose both. Opening the store therefore repairs the file: the torn tail is cut off and kept in
/// results.jsonl.torn, and <see cref="Repairs"/> says so (the CLI prints it). Unreadable lines elsewhere are skipped and
/// listed the same way.
/// </remarks>
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
        Repairs = RepairTornTail(_path);
        var (records, skipped) = ReadWithNotes(runDir);
        Repairs = [.. Repairs, .. skipped];
        foreach (var r in records) if (r.Error is null) _done[r.Key] = r;
    }

    public string FilePath => _path;
    /// <summary>What opening the store repaired or skipped (empty for a clean file).</summary>
    public IReadOnlyList<string> Repairs { get; }
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

    /// <summary>Every record of a run folder (the latest record wins per key, a success over a failure).</summary>
    public static List<ResultRecord> Read(string runDir) => ReadWithNotes(runDir).Records;

    private static (List<ResultRecord> Records, List<string> Skipped) ReadWithNotes(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        var byKey = new Dictionary<string, ResultRecord>(StringComparer.Ordinal);
        var skipped = new List<string>();
        if (!File.Exists(path)) return ([], skipped);
        var n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            ResultRecord? r = null;
            try { r = JsonSerializer.Deserialize<ResultRecord>(line); }
            catch (JsonException) { }
            if (r is null || r.Key is null) { skipped.Add($"{path}:{n}: unreadable line skipped ({Preview(line)})"); continue; }
            if (r.Error is null || !byKey.TryGetValue(r.Key, out var old) || old.Error is not null) byKey[r.Key] = r;
        }
        return (byKey.Values.ToList(), skipped);
    }

    /// <summary>Cuts a last line that lacks its newline (a write torn by a kill) and saves it beside the file.</summary>
    private static List<string> RepairTornTail(string path)
    {
        if (!File.Exists(path)) return [];
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        if (f.Length == 0) return [];
        f.Seek(-1, SeekOrigin.End);
        if (f.ReadByte() == '\n') return [];
        // Find the start of the last line.
        long start = f.Length - 1;
        var buf = new byte[1];
        while (start > 0)
        {
            f.Seek(start - 1, SeekOrigin.Begin);
            f.ReadExactly(buf);
            if (buf[0] == '\n') break;
            start--;
        }
        var tail = new byte[f.Length - start];
        f.Seek(start, SeekOrigin.Begin);
        f.ReadExactly(tail);
        var text = Encoding.UTF8.GetString(tail);
        try
        {
            // A complete record that only lacks its newline is kept.
            if (JsonSerializer.Deserialize<ResultRecord>(text) is { Key: not null })
            {
                f.Seek(0, SeekOrigin.End);
                f.WriteByte((byte)'\n');
                return [];
            }
        }
        catch (JsonException) { }
        File.AppendAllText(path + ".torn", text + "\n");
        f.SetLength(start);
        return [$"{path}: torn last line ({tail.Length} bytes, a write interrupted by a kill) removed and kept in {Path.GetFileName(path)}.torn; its item runs again"];
    }

    private static string Preview(string line) => line.Length <= 60 ? line : line[..60] + "…";
}
