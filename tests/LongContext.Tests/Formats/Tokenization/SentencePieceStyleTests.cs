using System.Text.Json;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Formats.Tokenization;

/// <summary>Llama-2/Mistral-style (▁ metaspace, byte_fallback) fixtures and tokenizer_config handling.</summary>
public class SentencePieceStyleTests
{
    [Fact]
    public void Chat_template_list_form_uses_the_default_entry()
    {
        var t = HfTokenizer.Load(TokenizerFixtures.Dir("llama2"));
        Assert.Equal("<s>[INST] hi [/INST]", t.ApplyChatTemplate([new ChatMessage("user", "hi")], addGenerationPrompt: true));
    }

    [Fact]
    public void Chat_template_jinja_file_is_read_from_the_model_folder()
    {
        var t = HfTokenizer.Load(TokenizerFixtures.Dir("metaspace"));
        Assert.NotNull(t.ChatTemplate);
        Assert.Equal("<s>[INST] hi [/INST]ok</s>", t.ApplyChatTemplate([new ChatMessage("user", "hi"), new ChatMessage("assistant", "ok")], false));
    }

    [Fact]
    public void Characters_outside_the_vocab_fall_back_to_byte_tokens()
    {
        var t = HfTokenizer.Load(TokenizerFixtures.Dir("llama2")); // its decoder chain has ByteFallback
        var ids = t.Encode("中", addSpecialTokens: false);
        Assert.Equal(["▁", "<0xE4>", "<0xB8>", "<0xAD>"], ids.Select(t.IdToToken));
        Assert.Equal("中", t.Decode(ids));
    }

    [Fact]
    public void Llama_tokenizer_class_follows_add_bos_and_add_eos_flags()
    {
        string json = File.ReadAllText(Path.Combine(TokenizerFixtures.Dir("llama2"), "tokenizer.json"));
        var config = JsonDocument.Parse("""{"tokenizer_class": "LlamaTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "add_bos_token": false, "add_eos_token": true}""").RootElement;
        var t = HfTokenizer.FromJson(json, tokenizerConfig: config);
        var ids = t.Encode("hi");
        Assert.NotEqual(1, ids[0]);
        Assert.Equal(2, ids[^1]);
    }
}
