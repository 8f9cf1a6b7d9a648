using System.Text;

namespace LongContext.Formats;

/// <summary>Text files read byte-exact, as Python's open(path, encoding="utf-8").read() and HF tokenizers see them.</summary>
public static class Utf8Text
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The file's UTF-8 text with nothing dropped or changed: a leading byte-order mark stays the character U+FEFF
    /// (File.ReadAllText would silently remove it) and line endings are kept. Invalid UTF-8 is an error naming the
    /// byte offset, never replaced silently. <paramref name="what"/> names the source in errors ("--text-file x.txt").
    /// </summary>
    public static string ReadFile(string path, string what)
    {
        if (!File.Exists(path)) throw new ConfigException($"{what}: no such file");
        var bytes = File.ReadAllBytes(path);
        try
        {
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new ConfigException($"{what}: not valid UTF-8 at byte {e.Index} (convert the file to UTF-8, e.g. iconv -t UTF-8)");
        }
    }
}
