using System.Text.Json;

namespace LongContext.Eval.Text;

/// <summary>Where one record lies in a data file: its byte offset and length (a JSON object's raw UTF-8).</summary>
public readonly record struct JsonRecordSpan(long Offset, int Length);

/// <summary>
/// Finds the records of a large data file without holding it in memory: the objects of a top-level JSON array
/// (LongBench v2's 465 MB data.json) or the lines of a JSON Lines file. A record is read back with <see cref="Read"/>.
/// </summary>
public static class JsonRecordIndex
{
    public static List<JsonRecordSpan> Build(string path)
    {
        if (!File.Exists(path)) throw new EvalException($"{path}: file not found.");
        using var fs = File.OpenRead(path);
        var bom = fs.ReadByte() == 0xEF && fs.ReadByte() == 0xBB && fs.ReadByte() == 0xBF ? 3 : 0;
        fs.Position = bom;
        var first = FirstNonWhitespace(fs);
        fs.Position = bom;
        return first switch
        {
            (byte)'[' => ArrayElements(fs, path),
            (byte)'{' => Lines(fs),
            -1 => throw new EvalException($"{path}: the file is empty."),
            _ => throw new EvalException($"{path}: neither a JSON array of objects nor JSON Lines (it starts with '{(char)first}')."),
        };
    }

    /// <summary>The raw bytes of one record.</summary>
    public static byte[] Read(string path, JsonRecordSpan span)
    {
        using var fs = File.OpenRead(path);
        fs.Position = span.Offset;
        var bytes = new byte[span.Length];
        fs.ReadExactly(bytes);
        return bytes;
    }

    private static int FirstNonWhitespace(Stream s)
    {
        int b;
        while ((b = s.ReadByte()) is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') { }
        return b;
    }

    private static List<JsonRecordSpan> Lines(FileStream fs)
    {
        var spans = new List<JsonRecordSpan>();
        var buffer = new byte[1 << 20];
        long lineStart = fs.Position, pos = fs.Position;
        var blank = true;
        int n;
        while ((n = fs.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (var i = 0; i < n; i++, pos++)
            {
                var b = buffer[i];
                if (b == (byte)'\n')
                {
                    if (!blank) spans.Add(new JsonRecordSpan(lineStart, checked((int)(pos - lineStart))));
                    lineStart = pos + 1;
                    blank = true;
                }
                else if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) blank = false;
            }
        }
        if (!blank) spans.Add(new JsonRecordSpan(lineStart, checked((int)(pos - lineStart))));
        return spans;
    }

    /// <summary>
    /// Streams the array through Utf8JsonReader in a growing window; when an element does not fit the window, the
    /// window is shifted to the element's start (grown if needed) and the element read again from the saved state.
    /// </summary>
    private static List<JsonRecordSpan> ArrayElements(FileStream fs, string path)
    {
        var spans = new List<JsonRecordSpan>();
        var buffer = new byte[1 << 20];
        long windowStart = fs.Position;             // file offset of buffer[0] (past a BOM)
        var filled = fs.Read(buffer, 0, buffer.Length);
        var eof = filled == 0;
        var state = new JsonReaderState();
        var consumed = 0;                           // bytes of the window already parsed
        var started = false;
        while (true)
        {
            var progressed = false;
            try
            {
                var reader = new Utf8JsonReader(buffer.AsSpan(consumed, filled - consumed), eof, state);
                while (true)
                {
                    var before = reader.CurrentState;
                    var beforeConsumed = (int)reader.BytesConsumed;
                    if (!reader.Read())
                    {
                        (state, consumed) = (reader.CurrentState, consumed + (int)reader.BytesConsumed);
                        break;
                    }
                    if (!started)
                    {
                        if (reader.TokenType != JsonTokenType.StartArray) throw new EvalException($"{path}: expected a JSON array.");
                        started = true;
                        continue;
                    }
                    if (reader.TokenType == JsonTokenType.EndArray) return spans;
                    if (reader.TokenType != JsonTokenType.StartObject)
                        throw new EvalException($"{path}: element {spans.Count} of the array is a {reader.TokenType}, not an object.");
                    var start = reader.TokenStartIndex;
                    if (!reader.TrySkip())
                    {
                        // The element runs past the window: resume from just before it.
                        (state, consumed) = (before, consumed + beforeConsumed);
                        break;
                    }
                    spans.Add(new JsonRecordSpan(windowStart + consumed + start, checked((int)(reader.BytesConsumed - start))));
                    progressed = true;
                }
            }
            catch (JsonException e)
            {
                throw new EvalException($"{path}: not valid JSON, or cut short, after byte {windowStart + consumed} ({e.Message}).");
            }
            if (eof) throw new EvalException($"{path}: the JSON array is not closed (cut short?).");
            // Move the unparsed tail to the front, grow the window if one element needs more, and read on.
            var tail = filled - consumed;
            if (tail == buffer.Length || (!progressed && tail * 2 > buffer.Length)) Array.Resize(ref buffer, buffer.Length * 2);
            Buffer.BlockCopy(buffer, consumed, buffer, 0, tail);
            windowStart += consumed;
            filled = tail;
            consumed = 0;
            int n;
            while (filled < buffer.Length && (n = fs.Read(buffer, filled, buffer.Length - filled)) > 0) filled += n;
            eof = filled < buffer.Length;
        }
    }
}
