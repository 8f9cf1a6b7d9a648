using System.Diagnostics;
using System.Text;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Formats.Tokenization;

/// <summary>Hand-checked behaviour on the tiny Llama-3-format fixture (base vocab 0..591, specials from 592).</summary>
public class HfTokenizerTests
{
    private const int Bos = 592, EndOfText = 593, StartHeader = 598, EndHeader = 599, Eom = 600, Eot = 601;
    private static readonly Lazy<HfTokenizer> Llama3 = new(() => HfTokenizer.Load(TokenizerFixtures.Dir("llama3")));

    /// <summary>Char offsets at which tokens end (ASCII text: each token decodes to its own chars).</summary>
    private static int[] TokenEnds(string text)
    {
        var t = Llama3.Value;
        var ends = new List<int>();
        int pos = 0;
        foreach (int id in t.Encode(text, addSpecialTokens: false))
        {
            pos += t.Decode([id]).Length;
            ends.Add(pos);
        }
        Assert.Equal(text.Length, pos);
        return ends.ToArray();
    }

    [Fact]
    public void Loads_special_tokens_eos_ids_and_chat_template_from_model_folder()
    {
        var t = Llama3.Value;
        Assert.Equal(Bos, t.BosTokenId);
        Assert.Equal(Eot, t.EosTokenId);
        Assert.Equal([Eot, EndOfText, Eom], t.EosTokenIds); // tokenizer_config eos first, then generation_config's list
        Assert.Equal(Bos + 11, t.VocabSize);
        Assert.NotNull(t.ChatTemplate);
        Assert.True(t.CleanUpTokenizationSpaces);
    }

    [Fact]
    public void Decode_applies_transformers_clean_up_when_the_config_sets_it()
    {
        var t = Llama3.Value; // tokenizer_config: clean_up_tokenization_spaces = true (as Llama-3's)
        var ids = t.Encode("Hi , it 's ok . Isn 't it ?", addSpecialTokens: false);
        Assert.Equal("Hi, it's ok. Isn 't it?", t.Decode(ids));
        Assert.Equal("Hi , it 's ok . Isn 't it ?", t.Decode(ids, skipSpecialTokens: false, cleanUpTokenizationSpaces: false));
        // Streaming stays on tokenizers' own decode: the clean-up is not prefix-stable.
        var stream = t.CreateStreamDecoder();
        Assert.Equal("Hi , it 's ok . Isn 't it ?", string.Concat(ids.Select(stream.Push).OfType<string>()));
    }

    [Fact]
    public void Clean_up_tokenization_is_transformers_replacement_list()
    {
        // Expected string computed with transformers' PreTrainedTokenizerBase.clean_up_tokenization replace chain.
        Assert.Equal(" a. b? c! d, e'f donn't I'm it's we've they're x .",
            HfTokenizer.CleanUpTokenization(" a . b ? c ! d , e ' f don n't I 'm it 's we 've they 're x  ."));
    }

    [Fact]
    public void Byte_tokens_map_to_gpt2_alphabet_and_specials_are_flagged()
    {
        var t = Llama3.Value;
        Assert.Equal("Ġ", t.IdToToken(32)); // byte 0x20
        Assert.Equal("Ċ", t.IdToToken(10)); // byte 0x0A
        Assert.Equal(Eot, t.TokenToId("<|eot_id|>"));
        Assert.True(t.IsSpecial(Eot));
        Assert.False(t.IsSpecial(97));
        Assert.Throws<TokenizerException>(() => t.IdToToken(100_000));
    }

    [Fact]
    public void Empty_text_encodes_to_bos_only_with_special_tokens()
    {
        Assert.Equal([Bos], Llama3.Value.Encode(""));
        Assert.Empty(Llama3.Value.Encode("", addSpecialTokens: false));
    }

    [Fact]
    public void Digits_split_in_groups_of_at_most_three()
    {
        var ends = TokenEnds("12345678901");
        Assert.Contains(3, ends);
        Assert.Contains(6, ends);
        Assert.Contains(9, ends);
        Assert.Equal(11, ends[^1]);
    }

    [Fact]
    public void Contractions_and_spaces_split_like_llama3_regex()
    {
        Assert.Contains(4, TokenEnds("they'll")); // they | 'll
        Assert.Contains(2, TokenEnds("HE'S")); // HE | 'S (case-insensitive contraction)
        var ends = TokenEnds("hello  world"); // hello | " " | " world": \s+(?!\S) leaves one space for the word
        Assert.Contains(5, ends);
        Assert.Contains(6, ends);
        Assert.Contains(1, TokenEnds("a\n\nb"));
        Assert.Contains(3, TokenEnds("a\n\nb"));
    }

    [Fact]
    public void Ignore_merges_takes_whole_word_from_vocab()
    {
        var t = Llama3.Value;
        Assert.Equal([t.TokenToId("Ġxyzzy")!.Value], t.Encode(" xyzzy", addSpecialTokens: false));
    }

    [Fact]
    public void Special_tokens_inside_text_become_single_ids()
    {
        var ids = Llama3.Value.Encode("<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");
        Assert.Equal(Bos, ids[0]);
        Assert.Equal(StartHeader, ids[1]);
        Assert.Contains(EndHeader, ids);
        Assert.Equal(Eot, ids[^1]);
        Assert.Equal("user\n\nhi", Llama3.Value.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Decode_replaces_cut_utf8_with_replacement_char()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("中"); // E4 B8 AD; byte-token ids equal byte values in this fixture
        Assert.Equal("a\uFFFD", Llama3.Value.Decode([97, bytes[0], bytes[1]]));
    }

    [Fact]
    public void Chat_template_output_encodes_with_a_single_bos()
    {
        var t = Llama3.Value;
        var ids = t.EncodeChat([new ChatMessage("user", "hi")], addGenerationPrompt: true);
        Assert.Equal(Bos, ids[0]);
        Assert.NotEqual(Bos, ids[1]);
        Assert.StartsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>", t.ApplyChatTemplate([new ChatMessage("user", "hi")], true));
    }

    [Fact]
    public void Encodes_100k_tokens_quickly_and_round_trips()
    {
        var t = Llama3.Value;
        var rng = new Random(1);
        string[] words = ["the", "context", "model", "tokens", "long", "reads", "hello", "world", "naïve", "中文", "😀", "x1234y", "...", "\n\n", "it's"];
        var sb = new StringBuilder();
        while (sb.Length < 400_000)
        {
            if (rng.Next(3) == 0)
            {
                // Random letter words defeat the per-word cache, so BPE merging itself is timed too.
                for (int k = rng.Next(3, 12); k > 0; k--) sb.Append((char)('a' + rng.Next(26)));
            }
            else sb.Append(words[rng.Next(words.Length)]);
            sb.Append(rng.Next(10) == 0 ? rng.Next(100_000).ToString() : " ");
        }
        sb.Append('=', 20_000).Append(" end"); // one 20k-char pre-token: merging must not be quadratic
        string text = sb.ToString();
        t.Encode("warm up", false);
        var sw = Stopwatch.StartNew();
        var ids = t.Encode(text, addSpecialTokens: false);
        sw.Stop();
        Assert.True(ids.Count > 100_000, $"only {ids.Count} tokens");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"encoding {ids.Count} tokens took {sw.Elapsed}");
        Assert.Equal(text, t.Decode(ids, skipSpecialTokens: false, cleanUpTokenizationSpaces: false)); // tokenizers-level round trip
        Assert.Equal(ids.Count, t.CountTokens(text));
    }

    [Theory]
    [InlineData("\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}", "model.type")]
    [InlineData("\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}", "pre_tokenizer.type")]
    [InlineData("\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}", "model.merges[0]")]
    [InlineData("\"decoder\": {\"type\": \"CTC\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}", "decoder.type")]
    public void Unsupported_or_broken_tokenizer_json_names_the_path(string body, string path)
    {
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.FromJson("{" + body + "}"));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Missing_tokenizer_json_is_a_tokenizer_exception()
    {
        var e = Assert.Throws<TokenizerException>(() => HfTokenizer.Load(Path.GetTempPath()));
        Assert.Contains("tokenizer.json", e.Message);
    }
}
