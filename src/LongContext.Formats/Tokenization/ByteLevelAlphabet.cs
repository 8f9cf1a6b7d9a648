namespace LongContext.Formats.Tokenization;

/// <summary>
/// GPT-2's reversible byte → printable-char table used by byte-level BPE: printable Latin-1 bytes map to
/// themselves, the other 68 bytes to U+0100.. in byte order (so ' ' becomes 'Ġ', '\n' becomes 'Ċ').
/// </summary>
public static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = BuildByteToChar();
    /// <summary>char → byte, or -1 for chars outside the alphabet (indexed by char, 0..0x143).</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    public static bool TryGetByte(char c, out byte b)
    {
        if (c < CharToByte.Length && CharToByte[c] >= 0)
        {
            b = (byte)CharToByte[c];
            return true;
        }
        b = 0;
        return false;
    }

    /// <summary>The text's UTF-8 bytes, each as its alphabet char.</summary>
    public static string Encode(string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (chars, b) =>
        {
            for (int i = 0; i < b.Length; i++) chars[i] = ByteToChar[b[i]];
        });
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var rev = new short[0x144];
        Array.Fill(rev, (short)-1);
        for (int b = 0; b < 256; b++) rev[ByteToChar[b]] = (short)b;
        return rev;
    }
}
