using System.Text;
using System.Text.Json;

namespace LongContext.Formats.Tokenization;

/// <summary>tokenizer.json `normalizer`: NFC/NFD/NFKC/NFKD, Lowercase, Prepend, Replace, Strip and Sequence.</summary>
internal abstract class Normalizer
{
    public abstract string Normalize(string text);

    public static Normalizer? FromJson(JsonElement json, string path)
    {
        if (json.ValueKind == JsonValueKind.Null) return null;
        string type = TokenizerJson.RequiredString(json, "type", path);
        return type switch
        {
            "NFC" => new Unicode(NormalizationForm.FormC),
            "NFD" => new Unicode(NormalizationForm.FormD),
            "NFKC" => new Unicode(NormalizationForm.FormKC),
            "NFKD" => new Unicode(NormalizationForm.FormKD),
            "Lowercase" => new Lowercase(),
            "Prepend" => new Prepend(TokenizerJson.RequiredString(json, "prepend", path)),
            "Replace" => new Replace(TokenizerJson.StringPattern(json, path), TokenizerJson.RequiredString(json, "content", path)),
            "Strip" => new Strip(TokenizerJson.Bool(json, "strip_left", true), TokenizerJson.Bool(json, "strip_right", true)),
            "Sequence" => new Sequence(TokenizerJson.RequiredArray(json, "normalizers", path)
                .Select((n, i) => FromJson(n, $"{path}.normalizers[{i}]")).OfType<Normalizer>().ToArray()),
            _ => throw new TokenizerException(
                $"{path}.type: normalizer '{type}' is not supported; supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence"),
        };
    }

    private sealed class Unicode(NormalizationForm form) : Normalizer
    {
        public override string Normalize(string text) => UnicodeNormalizer.Normalize(text, form);
    }

    private sealed class Lowercase : Normalizer
    {
        public override string Normalize(string text) => text.ToLowerInvariant();
    }

    private sealed class Prepend(string prefix) : Normalizer
    {
        public override string Normalize(string text) => text.Length == 0 ? text : prefix + text;
    }

    private sealed class Replace(string pattern, string content) : Normalizer
    {
        public override string Normalize(string text) => text.Replace(pattern, content, StringComparison.Ordinal);
    }

    private sealed class Strip(bool left, bool right) : Normalizer
    {
        public override string Normalize(string text) => left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
    }

    private sealed class Sequence(Normalizer[] parts) : Normalizer
    {
        public override string Normalize(string text)
        {
            foreach (var p in parts) text = p.Normalize(text);
            return text;
        }
    }
}
