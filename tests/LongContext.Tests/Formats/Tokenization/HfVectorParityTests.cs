using System.Text.Json;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Formats.Tokenization;

/// <summary>
/// Encode/decode must equal what HF tokenizers recorded in tokenizer_vectors.json next to each tokenizer.json
/// (tokenizers-level decode, without transformers' clean-up; fixtures/tokenizer/* were recorded with HF tokenizers' Node binding; fixtures/hf/* come from the GPU box).
/// </summary>
public class HfVectorParityTests
{
    private static readonly Dictionary<string, HfTokenizer> Cache = new();

    private static HfTokenizer Tokenizer(string relativeDir)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(relativeDir, out var t))
                Cache[relativeDir] = t = HfTokenizer.Load(Path.Combine(TokenizerFixtures.Root, relativeDir));
            return t;
        }
    }

    public static IEnumerable<object[]> Cases() => TokenizerFixtures.VectorCases();

    [Fact]
    public void Vector_files_are_present_for_every_fixture_tokenizer()
    {
        var folders = TokenizerFixtures.VectorFolders().Select(Path.GetFileName).ToList();
        Assert.Contains("llama3", folders);
        Assert.Contains("gpt2", folders);
        Assert.Contains("qwen2", folders);
        Assert.Contains("llama2", folders);
        Assert.Contains("metaspace", folders);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_hf_tokenizers(string dir, int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerFixtures.Root, dir, "tokenizer_vectors.json")));
        var entry = doc.RootElement[index];
        var tokenizer = Tokenizer(dir);
        int[] Ids(string name) => entry.GetProperty(name).EnumerateArray().Select(x => x.GetInt32()).ToArray();
        if (entry.TryGetProperty("text", out var textJson))
        {
            string text = textJson.GetString()!;
            var withSpecial = Ids("ids_with_special");
            Assert.Equal(withSpecial, tokenizer.Encode(text, addSpecialTokens: true));
            Assert.Equal(Ids("ids_without_special"), tokenizer.Encode(text, addSpecialTokens: false));
            if (entry.TryGetProperty("decoded", out var decoded))
                Assert.Equal(decoded.GetString(), tokenizer.Decode(withSpecial, skipSpecialTokens: false, cleanUpTokenizationSpaces: false));
            if (entry.TryGetProperty("decoded_skip_special", out var skipped))
                Assert.Equal(skipped.GetString(), tokenizer.Decode(withSpecial, skipSpecialTokens: true, cleanUpTokenizationSpaces: false));
        }
        else
        {
            var ids = Ids("ids");
            Assert.Equal(entry.GetProperty("decoded").GetString(), tokenizer.Decode(ids, skipSpecialTokens: false, cleanUpTokenizationSpaces: false));
            if (entry.TryGetProperty("decoded_skip_special", out var skipped))
                Assert.Equal(skipped.GetString(), tokenizer.Decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false));
        }
    }
}
