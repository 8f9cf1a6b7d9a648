using System.Text.Json;
using LongContext.Cli;
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

    [Fact]
    public async Task Missing_text_exits_with_user_error()
    {
        var (code, _) = await Run("tokenize", "--model", TokenizerFixtures.Dir("llama3"));
        Assert.Equal(1, code);
    }
}
