using LongContext.Formats.ChatTemplates;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Formats.ChatTemplates;

/// <summary>Hand-derived renders of the real model templates and of jinja2's whitespace rules.</summary>
public class ChatTemplateTests
{
    private static ChatTemplate Load(string file) =>
        ChatTemplate.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "chat", file)));

    private static Dictionary<string, object?> Tokens(string bos, string eos) => new() { ["bos_token"] = bos, ["eos_token"] = eos };

    private static readonly ChatMessage[] SystemUserAssistant =
        [new("system", "You are helpful."), new("user", "Hi"), new("assistant", "Hello")];

    [Fact]
    public void Llama3_renders_headers_eot_and_generation_prompt()
    {
        string text = Load("llama3.jinja").Render(SystemUserAssistant, addGenerationPrompt: true, Tokens("<|begin_of_text|>", "<|eot_id|>"));
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n", text);
    }

    [Fact]
    public void Llama3_without_generation_prompt_ends_at_last_eot_and_trims_content()
    {
        string text = Load("llama3.jinja").Render([new("user", "  Hi \n")], addGenerationPrompt: false, Tokens("<|begin_of_text|>", "<|eot_id|>"));
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", text);
    }

    [Fact]
    public void Llama31_without_tools_writes_knowledge_and_default_date_into_system()
    {
        string text = Load("llama3.1.jinja").Render([new("system", "S"), new("user", "U")], addGenerationPrompt: false,
            Tokens("<|begin_of_text|>", "<|eot_id|>"));
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nS<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>", text);
    }

    [Fact]
    public void Llama31_uses_date_string_variable_and_empty_system_message()
    {
        var vars = Tokens("<|begin_of_text|>", "<|eot_id|>");
        vars["date_string"] = "01 Jan 2025";
        string text = Load("llama3.1.jinja").Render([new("user", "U")], addGenerationPrompt: true, vars);
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
            "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text);
    }

    [Fact]
    public void Mistral_wraps_user_turns_in_inst_and_closes_assistant_with_eos()
    {
        string text = Load("mistral.jinja").Render([new("user", "A"), new("assistant", "B"), new("user", "C")], addGenerationPrompt: true,
            Tokens("<s>", "</s>"));
        Assert.Equal("<s>[INST] A [/INST]B</s>[INST] C [/INST]", text);
    }

    [Fact]
    public void Mistral_raise_exception_becomes_tokenizer_exception()
    {
        var e = Assert.Throws<TokenizerException>(() => Load("mistral.jinja").Render(SystemUserAssistant, true, Tokens("<s>", "</s>")));
        Assert.Contains("Conversation roles must alternate", e.Message);
    }

    [Fact]
    public void Qwen2_adds_default_system_prompt_when_none_is_given()
    {
        string text = Load("qwen2.jinja").Render([new("user", "Hi")], addGenerationPrompt: true);
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", text);
    }

    [Fact]
    public void Qwen2_keeps_given_system_prompt()
    {
        string text = Load("qwen2.jinja").Render(SystemUserAssistant, addGenerationPrompt: false);
        Assert.Equal("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n", text);
    }

    [Theory]
    [InlineData("{% if true %}\n  yes\n{% endif %}\n", "  yes\n")] // trim_blocks drops the newline after each block tag
    [InlineData("  {% if true %}x{% endif %}", "x")] // lstrip_blocks drops indentation before a block tag
    [InlineData("  {{ 'x' }}", "  x")] // ... but not before an output tag
    [InlineData("a  {{- 'b' -}}  c", "abc")]
    [InlineData("a\n  {%- if true %}b{% endif -%}\n  c", "abc")]
    [InlineData("{%+ if true %}x{% endif %}", "x")]
    [InlineData("  {%+ if true %}x{% endif %}", "  x")]
    [InlineData("{# comment #}\nz", "z")]
    [InlineData("line\n", "line")] // a single trailing newline is dropped, as jinja2's keep_trailing_newline=False
    [InlineData("{{ [1, 2, 3][::-1] }}{{ 'abc'[-1] }}{{ 'abc'[1:] }}", "[3, 2, 1]cbc")]
    [InlineData("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "3")]
    [InlineData("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", "1")] // loop scope
    [InlineData("{{ none }}|{{ true }}|{{ 1.0 }}|{{ undefined_name }}|{{ {'a': 'b'} }}", "None|True|1.0||{'a': 'b'}")]
    public void Follows_jinja2_semantics(string template, string expected)
    {
        Assert.Equal(expected, ChatTemplate.Parse(template).Render(Array.Empty<ChatMessage>(), false));
    }

    [Theory]
    [InlineData("hello\n{% bogus %}", "line 2, column 4")]
    [InlineData("{{ foo( }}", "line 1")]
    [InlineData("{% if x %}no end", "endif")]
    [InlineData("{{ 'x' | nosuchfilter }}", "unsupported filter 'nosuchfilter'")]
    [InlineData("{{ 'unterminated }}", "unclosed")]
    public void Bad_templates_throw_tokenizer_exception_with_position(string template, string messagePart)
    {
        var e = Assert.ThrowsAny<LongContextException>(() => ChatTemplate.Parse(template).Render(Array.Empty<ChatMessage>(), false));
        Assert.IsType<TokenizerException>(e);
        Assert.Contains(messagePart, e.Message);
    }

    [Fact]
    public void Strftime_now_formats_like_python()
    {
        var t = new DateTime(2024, 7, 5, 14, 3, 9);
        Assert.Equal("05 Jul 2024 14:03:09 PM", JinjaInterpreter.Strftime(t, "%d %b %Y %H:%M:%S %p"));
    }
}
