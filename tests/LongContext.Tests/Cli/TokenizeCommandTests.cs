using System.Text.Json;
using LongContext.Cli;
using LongContext.Formats.Tokenization;
using LongContext.Tests.Weights;
using LongContext.Tests.Formats.Tokenization;
using Spectre.Console.Testing;

namespace LongContext.Tests.Cli;

[Collection(CliCollection.Name)]
public class TokenizeCommandTests
{
    private static async Task<(int Code, string Stdout)> Run(params string[] args)
    {
        var (code, stdout, _) = await CliRun.Capture(args);
        return (code, stdout);
    }

    [Fact]
    public async Task Json_prints_ids_with_bos_as_last_line()
    {
        var (code, stdout) = await Run("tokenize", "--model", TokenizerFixtures.Dir("llama3"), "--text", "<|eot_id|>", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
        Assert.Equal([592, 601], doc.RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
    }

    [Fact]
    public async Task No_special_leaves_out_bos_and_table_shows_tokens()
    {
        var console = new TestConsole();
        var previous = CliCommon.Console;
        CliCommon.Console = console;
        try
        {
            var (code, _) = await Run("tokenize", "--model", TokenizerFixtures.Dir("llama3"), "--text", " xyzzy", "--no-special");
            Assert.Equal(0, code);
            Assert.Contains("Ġxyzzy", console.Output);
            Assert.Contains("1 tokens", console.Output);
        }
        finally
        {
            CliCommon.Console = previous;
        }
    }

    private static JsonElement LastJson(string stdout) => JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]).RootElement.Clone();

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    [Fact]
    public async Task Text_file_is_read_byte_exact_keeping_a_leading_bom_as_hf_does()
    {
        using var dir = new TempDir();
        string path = dir.File("bom.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, (byte)'h', (byte)'i', (byte)'\r', (byte)'\n']);
        var tokenizer = HfTokenizer.Load(TokenizerFixtures.Dir("llama3"));

        var (code, stdout) = await Run("tokenize", "--model", TokenizerFixtures.Dir("llama3"), "--text-file", path, "--no-special", "--json");

        Assert.Equal(0, code);
        Assert.Equal(tokenizer.Encode("\uFEFFhi\r\n", addSpecialTokens: false), Ints(LastJson(stdout).GetProperty("ids")));
        Assert.NotEqual(tokenizer.Encode("hi\r\n", addSpecialTokens: false), Ints(LastJson(stdout).GetProperty("ids")));
    }

    [Fact]
    public async Task Json_gives_token_strings_and_code_point_offsets_with_bos_at_zero()
    {
        const string text = "Hi naïve 😀 end";
        var (code, stdout) = await Run("tokenize", "--model", TokenizerFixtures.Dir("llama3"), "--text", text, "--json");

        Assert.Equal(0, code);
        var json = LastJson(stdout);
        var tokens = json.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        var offsets = json.GetProperty("offsets").EnumerateArray().Select(Ints).ToArray();
        Assert.Equal("<|begin_of_text|>", tokens[0]);
        Assert.Equal([0, 0], offsets[0]);
        var codePoints = text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        // Spans tile the text in order; the byte tokens of 😀 (one code point) share its span, as transformers reports them.
        int covered = 0;
        for (int i = 1; i < offsets.Length; i++)
        {
            Assert.True(offsets[i][0] <= covered && offsets[i][1] >= covered, $"token {i} {tokens[i]} at {offsets[i][0]}..{offsets[i][1]}");
            covered = offsets[i][1];
        }
        Assert.Equal(codePoints.Length, covered);
        int emoji = Array.IndexOf(codePoints, "😀");
        Assert.Contains(offsets, o => o[0] == emoji && o[1] == emoji + 1);
    }

    [Fact]
    public async Task Chat_renders_a_conversation_with_tools_generation_prompt_and_template_kwargs()
    {
        using var dir = new TempDir();
        string path = dir.File("chat.json");
        File.WriteAllText(path, """
            {"messages": [{"role": "user", "content": "Weather?"},
                          {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": "{\"days\": 1}"}}]},
                          {"role": "tool", "content": "21"}],
             "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]}
            """);
        var tokenizer = HfTokenizer.Load(TokenizerFixtures.Dir("llama3"));

        var (code, stdout) = await Run("tokenize", "--model", TokenizerFixtures.Dir("llama3"), "--chat", path,
            "--add-generation-prompt", "--template-kwarg", "date_string=01 Jan 2026", "--template-kwarg", "tools_in_user_message=false", "--json");

        Assert.Equal(0, code);
        var json = LastJson(stdout);
        string rendered = json.GetProperty("text").GetString()!;
        Assert.Contains("Today Date: 01 Jan 2026", rendered);
        Assert.Contains("\"name\": \"get_weather\"", rendered[..rendered.IndexOf("Weather?", StringComparison.Ordinal)]); // tools in the system turn
        Assert.Contains("{\"name\": \"get_weather\", \"parameters\": {\"days\": 1}}", rendered);
        Assert.EndsWith("<|start_header_id|>assistant<|end_header_id|>\n\n", rendered);
        Assert.Equal(tokenizer.Encode(rendered, addSpecialTokens: false), Ints(json.GetProperty("ids")));
    }

    [Fact]
    public async Task Jsonl_batch_prints_one_line_per_input()
    {
        using var dir = new TempDir();
        string path = dir.File("batch.jsonl");
        File.WriteAllLines(path, ["\"plain string\"", "{\"text\": \"an object\"}", "", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"]);
        var tokenizer = HfTokenizer.Load(TokenizerFixtures.Dir("llama3"));

        var (code, stdout) = await Run("tokenize", "--model", TokenizerFixtures.Dir("llama3"), "--jsonl", path);

        Assert.Equal(0, code);
        var lines = stdout.TrimEnd().Split('\n').Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        Assert.Equal([1, 2, 4], lines.Select(l => l.GetProperty("line").GetInt32()));
        Assert.Equal(tokenizer.Encode("plain string"), Ints(lines[0].GetProperty("ids")));
        Assert.Equal(tokenizer.Encode("an object"), Ints(lines[1].GetProperty("ids")));
        Assert.Equal(tokenizer.EncodeChat([new ChatMessage("user", "hi")], addGenerationPrompt: false), Ints(lines[2].GetProperty("ids")));
    }

    [Theory]
    [InlineData("--template-kwarg", "novalue")]
    [InlineData("--text", "a", "--chat", "x.json")]
    public async Task Bad_arguments_exit_with_user_error(params string[] extra)
    {
        var (code, _) = await Run(["tokenize", "--model", TokenizerFixtures.Dir("llama3"), .. (extra.Contains("--text") ? extra : ["--text", "a", .. extra])]);
        Assert.Equal(1, code);
    }

    [Fact]
    public async Task Missing_text_exits_with_user_error()
    {
        var (code, _) = await Run("tokenize", "--model", TokenizerFixtures.Dir("llama3"));
        Assert.Equal(1, code);
    }
}
