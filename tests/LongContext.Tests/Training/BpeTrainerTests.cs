using System.Text;
using LongContext.Formats.Tokenization;
using LongContext.Tests.Data;
using LongContext.Training.Data;
using LongContext.Training.Tokenizers;

namespace LongContext.Tests.Tokenization;

public class BpeTrainerTests
{
    /// <summary>Python-like text with repeats (so pairs have clear winners), digits, indentation and a little non-ASCII.</summary>
    static List<string> Corpus(int documents, int seed)
    {
        var rng = new Random(seed);
        string[] names = ["self", "value", "items", "result", "config", "tensor", "index", "length", "path", "name"];
        string[] ops = ["return", "if", "for", "while", "def", "import", "yield", "raise"];
        var docs = new List<string>();
        for (int d = 0; d < documents; d++)
        {
            var sb = new StringBuilder();
            for (int line = 0; line < 40; line++)
            {
                sb.Append(new string(' ', 4 * rng.Next(3)));
                sb.Append(ops[rng.Next(ops.Length)]).Append(' ').Append(names[rng.Next(names.Length)]);
                sb.Append(rng.Next(3) == 0 ? $" = {rng.Next(100000)}" : $".{names[rng.Next(names.Length)]}()");
                if (rng.Next(15) == 0) sb.Append("  # größe ✓ 😀");
                sb.Append('\n');
            }
            docs.Add(sb.ToString());
        }
        return docs;
    }

    [Fact]
    public void Hf_style_encoding_of_the_trained_file_equals_the_trainers_own_segmentation_and_round_trips()
    {
        var corpus = Corpus(30, 1);
        var options = new BpeTrainerOptions { VocabSize = 420, MaxCharacters = null };
        var result = BpeTrainer.Train(corpus, options);
        var tokenizer = HfTokenizer.FromJson(result.TokenizerJson);
        Assert.Equal(420, tokenizer.VocabSize);
        Assert.Equal(420, result.VocabSize);
        Assert.True(result.Merges >= 420 - 258, $"{result.Merges} merges");
        long tokens = 0;
        foreach (var doc in corpus)
        {
            var expected = tokenizer.PreTokenize(doc).SelectMany(word => result.Segmentation[word]).ToArray();
            var encoded = tokenizer.Encode(doc, addSpecialTokens: false);
            Assert.Equal(expected, encoded);
            Assert.Equal(doc, tokenizer.Decode(encoded));
            tokens += encoded.Count;
        }
        Assert.Equal(result.Tokens, tokens);
        // Text it never saw (other words, astral chars, control bytes) still round-trips: the byte alphabet covers everything.
        foreach (var text in new[] { "zebra_quux = 7\r\n\tλx: x**2 ⊗ 🧪", "\u0001\u007f end" })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addSpecialTokens: false)));
    }

    [Fact]
    public void Merges_match_a_naive_trainer_that_recounts_every_pair_each_step()
    {
        var corpus = Corpus(12, 2).Append("aaaa aaa abcabc ab c bc a").ToList();
        var options = new BpeTrainerOptions { VocabSize = 340, MinFrequency = 1, MaxCharacters = null };
        var result = BpeTrainer.Train(corpus, options);
        var skeleton = HfTokenizer.FromJson(result.TokenizerJson);
        var expected = NaiveMerges(corpus.SelectMany(skeleton.PreTokenize), 340 - 2);
        var merges = System.Text.Json.JsonDocument.Parse(result.TokenizerJson).RootElement.GetProperty("model").GetProperty("merges")
            .EnumerateArray().Select(m => (m[0].GetString()!, m[1].GetString()!)).ToList();
        Assert.Equal(expected, merges);
    }

    [Fact]
    public void Saved_folder_loads_with_bos_eos_and_special_tokens_as_single_ids()
    {
        using var dir = new TempDir();
        var options = new BpeTrainerOptions { VocabSize = 300, MaxCharacters = null };
        var result = BpeTrainer.Train(Corpus(5, 3), options);
        BpeTrainer.Save(result, options, dir.Path);
        var tokenizer = HfTokenizer.Load(dir.Path);
        Assert.Equal(298, tokenizer.BosTokenId);
        Assert.Equal(299, tokenizer.EosTokenId);
        Assert.Equal([299], tokenizer.Encode("<|end_of_text|>", addSpecialTokens: false));
        Assert.True(File.Exists(Path.Combine(dir.Path, "training.json")));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void A_document_source_cut_by_max_characters_is_sampled_across_the_whole_source()
    {
        using var dir = new TempDir();
        // 20 files; the first ten are all "a", the rest all "z": a cut that read the first files only would never see z.
        for (int i = 0; i < 20; i++) dir.File($"f{i:00}.txt", new string(i < 10 ? 'a' : 'z', 1000));
        var result = BpeTrainer.Train(new FolderDocumentSource(dir.Path), new BpeTrainerOptions { VocabSize = 270, MaxCharacters = 5000 });
        Assert.True(result.Characters <= 6000, $"{result.Characters} characters counted");
        var tokenizer = HfTokenizer.FromJson(result.TokenizerJson);
        Assert.True(tokenizer.Encode(new string('z', 64), addSpecialTokens: false).Count < 64, "z runs were never merged");
        Assert.True(tokenizer.Encode(new string('a', 64), addSpecialTokens: false).Count < 64, "a runs were never merged");
    }

    [Fact]
    public void Too_small_a_vocabulary_is_refused_with_the_reason()
    {
        var e = Assert.Throws<LongContext.ConfigException>(() => BpeTrainer.Train(["x"], new BpeTrainerOptions { VocabSize = 100 }));
        Assert.Contains("256 bytes", e.Message);
    }

    /// <summary>Textbook BPE: every step recounts all pairs; most frequent wins, ties to the smaller (id, id).</summary>
    static List<(string, string)> NaiveMerges(IEnumerable<string> preTokens, int targetTokens)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokens = new List<string>();
        for (int b = 0; b < 256; b++)
        {
            tokens.Add(ByteLevelAlphabet.ByteToChar[b].ToString());
            ids[tokens[^1]] = b;
        }
        var words = preTokens.GroupBy(w => w, StringComparer.Ordinal)
            .Select(g => (Symbols: g.Key.Select(c => ids[c.ToString()]).ToList(), Count: (long)g.Count())).ToList();
        var merges = new List<(string, string)>();
        while (tokens.Count < targetTokens)
        {
            var counts = new Dictionary<(int, int), long>();
            foreach (var (s, c) in words)
                for (int i = 0; i + 1 < s.Count; i++) counts[(s[i], s[i + 1])] = counts.GetValueOrDefault((s[i], s[i + 1])) + c;
            if (counts.Count == 0) break;
            var best = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2).First().Key;
            string text = tokens[best.Item1] + tokens[best.Item2];
            if (!ids.TryGetValue(text, out int id))
            {
                id = tokens.Count;
                tokens.Add(text);
                ids[text] = id;
            }
            merges.Add((tokens[best.Item1], tokens[best.Item2]));
            foreach (var (s, _) in words)
                for (int i = 0; i + 1 < s.Count; i++)
                    if (s[i] == best.Item1 && s[i + 1] == best.Item2)
                    {
                        s[i] = id;
                        s.RemoveAt(i + 1);
                    }
        }
        return merges;
    }
}
