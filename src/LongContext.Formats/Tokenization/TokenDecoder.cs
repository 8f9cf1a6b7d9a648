using System.Text;
using System.Text.Json;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// tokenizer.json `decoder`: turns the token strings of the ids back into text (HF's decode_chain, then concat).
/// Supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence.
/// </summary>
internal abstract class TokenDecoder
{
    public abstract List<string> DecodeChain(List<string> tokens);

    public string Decode(List<string> tokens) => string.Concat(DecodeChain(tokens));

    public static TokenDecoder? FromJson(JsonElement json, string path)
    {
        if (json.ValueKind == JsonValueKind.Null) return null;
        string type = TokenizerJson.RequiredString(json, "type", path);
        return type switch
        {
            "ByteLevel" => new ByteLevel(),
            "Replace" => new Replace(TokenizerJson.StringPattern(json, path), TokenizerJson.RequiredString(json, "content", path)),
            "ByteFallback" => new ByteFallback(),
            "Fuse" => new Fuse(),
            "Strip" => new Strip(TokenizerJson.RequiredString(json, "content", path),
                json.GetProperty("start").GetInt32(), json.GetProperty("stop").GetInt32()),
            "Metaspace" => new Metaspace(TokenizerJson.OptionalString(json, "replacement") ?? "▁",
                (TokenizerJson.OptionalString(json, "prepend_scheme")
                 ?? (TokenizerJson.Bool(json, "add_prefix_space", true) ? "always" : "never")) != "never"),
            "Sequence" => new Sequence(TokenizerJson.RequiredArray(json, "decoders", path)
                .Select((d, i) => FromJson(d, $"{path}.decoders[{i}]")).OfType<TokenDecoder>().ToArray()),
            _ => throw new TokenizerException(
                $"{path}.type: decoder '{type}' is not supported; supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence"),
        };
    }

    /// <summary>Alphabet chars back to bytes (a token with any char outside the alphabet keeps its own UTF-8), lossy UTF-8.</summary>
    private sealed class ByteLevel : TokenDecoder
    {
        public override List<string> DecodeChain(List<string> tokens)
        {
            var bytes = new List<byte>();
            foreach (var token in tokens)
            {
                int mark = bytes.Count;
                bool all = true;
                foreach (char c in token)
                {
                    if (!ByteLevelAlphabet.TryGetByte(c, out byte b))
                    {
                        all = false;
                        break;
                    }
                    bytes.Add(b);
                }
                if (all) continue;
                bytes.RemoveRange(mark, bytes.Count - mark);
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
            return [Encoding.UTF8.GetString(bytes.ToArray())];
        }
    }

    private sealed class Replace(string pattern, string content) : TokenDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) =>
            tokens.Select(t => t.Replace(pattern, content, StringComparison.Ordinal)).ToList();
    }

    /// <summary>Runs of &lt;0xXX&gt; tokens become UTF-8 text; an invalid run yields one U+FFFD per byte.</summary>
    private sealed class ByteFallback : TokenDecoder
    {
        private static readonly UTF8Encoding Strict = new(false, true);

        public override List<string> DecodeChain(List<string> tokens)
        {
            var output = new List<string>(tokens.Count);
            var pending = new List<byte>();
            void Flush()
            {
                if (pending.Count == 0) return;
                try { output.Add(Strict.GetString(pending.ToArray())); }
                catch (DecoderFallbackException) { for (int i = 0; i < pending.Count; i++) output.Add("\uFFFD"); }
                pending.Clear();
            }
            foreach (var t in tokens)
            {
                if (t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
                    && byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
                {
                    pending.Add(b);
                    continue;
                }
                Flush();
                output.Add(t);
            }
            Flush();
            return output;
        }
    }

    private sealed class Fuse : TokenDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
    }

    /// <summary>Removes up to start leading and stop trailing copies of content from each token.</summary>
    private sealed class Strip(string content, int start, int stop) : TokenDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) => tokens.Select(t =>
        {
            int left = 0, right = t.Length;
            for (int i = 0; i < start && left + content.Length <= right && string.CompareOrdinal(t, left, content, 0, content.Length) == 0; i++) left += content.Length;
            for (int i = 0; i < stop && right - content.Length >= left && string.CompareOrdinal(t, right - content.Length, content, 0, content.Length) == 0; i++) right -= content.Length;
            return t[left..right];
        }).ToList();
    }

    private sealed class Metaspace(string replacement, bool stripFirstSpace) : TokenDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) => tokens.Select((t, i) =>
        {
            string s = t.Replace(replacement, " ", StringComparison.Ordinal);
            return i == 0 && stripFirstSpace && s.StartsWith(' ') ? s[1..] : s;
        }).ToList();
    }

    private sealed class Sequence(TokenDecoder[] parts) : TokenDecoder
    {
        public override List<string> DecodeChain(List<string> tokens)
        {
            foreach (var p in parts) tokens = p.DecodeChain(tokens);
            return tokens;
        }
    }
}
