using System.Text;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// Character offsets of tokens in the text they were encoded from, as transformers' return_offsets_mapping gives them:
/// [start, end) in code points (Python string indices), tokens the post-processor added (BOS) get (0, 0), and each
/// byte-level token spans every character its bytes touch (so the byte tokens of one emoji share its span).
/// Spans keep a token's leading space, as tokenizers do with trim_offsets=false (Llama-3); RoBERTa-style
/// trim_offsets=true would drop it.
/// </summary>
public static class TokenOffsets
{
    /// <summary>
    /// Offsets for <paramref name="ids"/> = tokenizer.Encode(text, addSpecialTokens); null when the tokenizer does not
    /// give the text back token by token (a normalizer or decoder that changes it, e.g. sentencepiece's "▁" prefix),
    /// where offsets could only be guessed.
    /// </summary>
    public static IReadOnlyList<(int Start, int End)>? Compute(HfTokenizer tokenizer, string text, IReadOnlyList<int> ids, bool addSpecialTokens)
    {
        var core = addSpecialTokens ? tokenizer.Encode(text, addSpecialTokens: false) : ids;
        int first = IndexOf(ids, core);
        if (first < 0) return null;
        var spans = FromBytes(tokenizer, text, core) ?? FromDecodedPieces(tokenizer, text, core);
        if (spans is null) return null;
        var result = new (int Start, int End)[ids.Count];
        for (int i = 0; i < core.Count; i++) result[first + i] = spans[i];
        return result;
    }

    /// <summary>Byte-level BPE: each token's bytes (the alphabet mapped back; added tokens as UTF-8) tile the text's UTF-8.</summary>
    private static (int, int)[]? FromBytes(HfTokenizer tokenizer, string text, IReadOnlyList<int> core)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var codePointOfByte = new int[utf8.Length + 1];
        int cp = -1;
        for (int b = 0; b < utf8.Length; b++)
        {
            if ((utf8[b] & 0xC0) != 0x80) cp++;
            codePointOfByte[b] = cp;
        }
        codePointOfByte[utf8.Length] = cp + 1;
        var spans = new (int, int)[core.Count];
        int at = 0;
        for (int i = 0; i < core.Count; i++)
        {
            var bytes = TokenBytes(tokenizer, core[i]);
            if (at + bytes.Length > utf8.Length || !bytes.AsSpan().SequenceEqual(utf8.AsSpan(at, bytes.Length))) return null;
            spans[i] = bytes.Length == 0 ? (codePointOfByte[at], codePointOfByte[at])
                : (codePointOfByte[at], codePointOfByte[at + bytes.Length - 1] + 1);
            at += bytes.Length;
        }
        return at == utf8.Length ? spans : null;
    }

    private static byte[] TokenBytes(HfTokenizer tokenizer, int id)
    {
        string token = tokenizer.IdToToken(id);
        if (tokenizer.AddedTokens.Any(t => t.Id == id)) return Encoding.UTF8.GetBytes(token);
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
            if (!ByteLevelAlphabet.TryGetByte(token[i], out bytes[i])) return Encoding.UTF8.GetBytes(token);
        return bytes;
    }

    /// <summary>Other tokenizers: the text each token adds when decoded in a stream, when the stream gives the text back exactly.</summary>
    private static (int, int)[]? FromDecodedPieces(HfTokenizer tokenizer, string text, IReadOnlyList<int> core)
    {
        var decoder = new StreamDecoder(tokenizer, skipSpecialTokens: false);
        var spans = new (int Start, int End)[core.Count];
        var pending = new List<int>();
        var decoded = new StringBuilder();
        for (int i = 0; i < core.Count; i++)
        {
            string? piece = decoder.Push(core[i]);
            if (piece is null)
            {
                pending.Add(i); // ends inside a character: it shares that character's span
                continue;
            }
            int start = decoded.Length;
            decoded.Append(piece);
            int firstChar = piece.Length > 1 && char.IsSurrogatePair(piece[0], piece[1]) ? 2 : Math.Min(1, piece.Length);
            foreach (int p in pending) spans[p] = (start, start + firstChar);
            pending.Clear();
            spans[i] = (start, decoded.Length);
        }
        if (pending.Count > 0 || decoded.ToString() != text) return null;
        var codePoint = CodePointIndex(text);
        return spans.Select(s => (codePoint[s.Start], codePoint[s.End])).ToArray();
    }

    private static int IndexOf(IReadOnlyList<int> ids, IReadOnlyList<int> core)
    {
        for (int k = 0; k + core.Count <= ids.Count; k++)
        {
            int j = 0;
            while (j < core.Count && ids[k + j] == core[j]) j++;
            if (j == core.Count) return k;
        }
        return -1;
    }

    /// <summary>UTF-16 index → code-point index, for every index 0..text.Length.</summary>
    private static int[] CodePointIndex(string text)
    {
        var map = new int[text.Length + 1];
        int cp = 0;
        for (int i = 0; i < text.Length; i++)
        {
            map[i] = cp;
            if (!(char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))) cp++;
        }
        map[text.Length] = cp;
        return map;
    }
}
