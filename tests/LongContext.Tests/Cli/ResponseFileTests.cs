using LongContext.Tests.Server;
using LongContext.Tests.Formats.Tokenization;

namespace LongContext.Tests.Cli;

/// <summary>Response files are off: a value starting with '@' is text, never a file of arguments to splice in.</summary>
[Collection(CliCollection.Name)]
public class ResponseFileTests
{
    [Fact]
    public async Task A_prompt_starting_with_an_at_sign_is_the_prompt_itself()
    {
        var (code, stdout, stderr) = await CliRun.Capture("generate", "--model", TinyModel.Dir(), "--device", "cpu", "--prompt", "@foo",
            "--max-new-tokens", "1", "--greedy", "--json");
        Assert.True(code == 0, stderr);
        using var session = TinyModel.Open();
        Assert.Equal(session.Tokenizer.Encode("@foo").Count, CliRun.LastJson(stdout).GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task An_at_sign_naming_an_existing_file_does_not_splice_its_contents_in()
    {
        var dir = Directory.CreateTempSubdirectory("lc-rsp-").FullName;
        var rsp = Path.Combine(dir, "args.rsp");
        File.WriteAllText(rsp, "--no-special");
        var (code, stdout, stderr) = await CliRun.Capture("tokenize", "--model", TokenizerFixtures.Dir("llama3"), "--text", "@" + rsp, "--json");
        Assert.True(code == 0, stderr);
        var ids = CliRun.LastJson(stdout).GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToList();
        var expected = LongContext.Formats.Tokenization.HfTokenizer.Load(TokenizerFixtures.Dir("llama3")).Encode("@" + rsp);
        Assert.Equal(expected, ids);
        Directory.Delete(dir, recursive: true);
    }
}
