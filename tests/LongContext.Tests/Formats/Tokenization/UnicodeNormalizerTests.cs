using System.Text;
using System.Text.Json;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Formats.Tokenization;

/// <summary>
/// NFC/NFD/NFKC/NFKD equal HF tokenizers' own normalizers (fixtures/tokenizer/normalization_vectors.json, recorded
/// by record_normalization.js through tokenizers 0.23.2) on every character that decomposes, every mark, reordering,
/// blocked composition and Hangul, whatever the host's ICU.
/// </summary>
public class UnicodeNormalizerTests
{
    private static readonly Lazy<JsonDocument> Vectors = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerFixtures.Root, "tokenizer", "normalization_vectors.json"))));

    public static IEnumerable<object[]> Cases()
    {
        foreach (var entry in Vectors.Value.RootElement.GetProperty("entries").EnumerateArray())
            foreach (var form in new[] { "nfc", "nfd", "nfkc", "nfkd" })
                yield return [entry.GetProperty("name").GetString()!, form];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_hf_tokenizers(string name, string form)
    {
        var entry = Vectors.Value.RootElement.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        string input = entry.GetProperty("input").GetString()!;
        string expected = entry.GetProperty(form).GetString()!;
        var normalization = form switch
        {
            "nfc" => NormalizationForm.FormC,
            "nfd" => NormalizationForm.FormD,
            "nfkc" => NormalizationForm.FormKC,
            _ => NormalizationForm.FormKD,
        };
        string actual = UnicodeNormalizer.Normalize(input, normalization);
        if (actual == expected) return;
        // Name the first case that differs, with its code points.
        var inputs = input.Split('\n');
        var wants = expected.Split('\n');
        var gots = actual.Split('\n');
        for (int i = 0; i < inputs.Length; i++)
        {
            if (i < gots.Length && gots[i] == wants[i]) continue;
            Assert.Fail($"{name} {form} case {i}: input {Hex(inputs[i])}: hf {Hex(wants[i])}, ours {(i < gots.Length ? Hex(gots[i]) : "missing")}");
        }
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Vectors_cover_every_kind_of_case()
    {
        var names = Vectors.Value.RootElement.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["decomposable_alone", "marks_after_a", "decomposable_between_marks", "marks_in_both_orders", "hangul", "mixed_text"], names);
        Assert.True(Vectors.Value.RootElement.GetProperty("entries")[0].GetProperty("count").GetInt32() > 5000);
    }

    [Fact]
    public void Characters_newer_than_unicode_9_are_starters_as_in_hf()
    {
        // U+0898 (Unicode 14, class 230) would move after U+0316 (class 220) with current tables; HF's Unicode 9.0 keeps it.
        Assert.Equal("a\u0898\u0316", UnicodeNormalizer.Normalize("a\u0898\u0316", NormalizationForm.FormD));
        Assert.Equal("a\u0316\u0301", UnicodeNormalizer.Normalize("a\u0301\u0316", NormalizationForm.FormD));
        Assert.Equal("\u00E1\u0316", UnicodeNormalizer.Normalize("a\u0316\u0301", NormalizationForm.FormC)); // 220 < 230: not blocked
    }

    private static string Hex(string s) => string.Join(" ", s.EnumerateRunes().Select(r => $"U+{r.Value:X4}"));
}
