using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Ask;

/// <summary>`longctx ask` through the CLI entry point: --files-only, an OpenAI-compatible stub (streaming or not), the local engine.</summary>
[Collection(CliCollection.Name)]
public class AskCommandTests
{
    private static Task<(int Code, string Stdout, string Stderr)> Run(params string[] args) => CliRun.Capture(args);

    private static JsonNode LastJson(string stdout) => JsonNode.Parse(stdout.TrimEnd().Split('\n')[^1])!;

    [Fact]
    public async Task Files_only_json_reports_the_prompt_counts_and_every_path()
    {
        var repo = AskFixture.Repo();
        var (code, stdout, stderr) = await Run("ask", "--repo", repo, "--files-only", "--tokenizer", AskFixture.TokenizerDir, "--max-context", "100000",
            "--max-answer-tokens", "64", "--max-file-bytes", "4096", "--json", "Where is main?");
        Assert.True(code == 0, stderr);
        var r = LastJson(stdout);
        Assert.Equal("repo", r["mode"]!.GetValue<string>());
        Assert.True(r["tokens_exact"]!.GetValue<bool>());
        Assert.Equal(100000, r["context_window"]!.GetValue<int>());
        Assert.Equal(16, r["included_count"]!.GetValue<int>());
        Assert.Equal(0, r["omitted_count"]!.GetValue<int>());
        Assert.Equal(AskFixture.Kept, r["included"]!.AsArray().Select(f => f!["path"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal(AskFixture.Skipped.Keys.Order(StringComparer.Ordinal), r["skipped"]!.AsArray().Select(f => f!["path"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        var prompt = r["prompt"]!.GetValue<string>();
        Assert.EndsWith("Question: Where is main?\n", prompt);
        Assert.Equal(AskFixture.Tokenizer.EncodeChat([new ChatMessage("user", prompt)], true).Count, r["prompt_tokens"]!.GetValue<int>());
        Assert.Equal("source", r["included"]!.AsArray().Single(f => f!["path"]!.GetValue<string>() == "src/app.py")!["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task Files_only_prints_the_prompt_on_stdout_and_the_report_with_left_out_paths_on_stderr()
    {
        var repo = AskFixture.Repo();
        var (code, stdout, stderr) = await Run("ask", "--repo", repo, "--files-only", "--tokenizer", AskFixture.TokenizerDir, "--max-context", "400",
            "--max-answer-tokens", "16", "--max-file-bytes", "4096");
        Assert.True(code == 0, stderr);
        Assert.StartsWith("Below are ", stdout);
        Assert.DoesNotContain("Question:", stdout);
        Assert.Contains("left out to fit the window", stderr);
        Assert.Contains("(test,", stderr);
        Assert.Contains("skipped 17 paths", stderr);
        var tokens = AskFixture.Tokenizer.EncodeChat([new ChatMessage("user", stdout)], true).Count;
        Assert.True(tokens <= 400 - 16);
        Assert.Contains($"{tokens:N0} prompt tokens", stderr);
    }

    [Fact]
    public async Task Endpoint_answer_streams_to_stdout_with_the_window_read_from_models()
    {
        using var stub = new StreamingStubServer { MaxModelLen = 4096 };
        var repo = AskFixture.Repo();
        var (code, stdout, stderr) = await Run("ask", "--repo", repo, "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", AskFixture.TokenizerDir,
            "--max-answer-tokens", "32", "--max-file-bytes", "4096", "What does Engine.run return?");
        Assert.True(code == 0, stderr);
        Assert.Equal("The engine returns 42.\n", stdout);
        Assert.Contains("window 4,096 (the endpoint's /models)", stderr);
        var sent = Assert.Single(stub.UserMessages);
        Assert.Contains("===== FILE: src/core/engine.py (python) =====\nclass Engine:", sent);
        Assert.EndsWith("Question: What does Engine.run return?\n", sent);
        Assert.True(stub.Bodies[0]["stream"]!.GetValue<bool>());
        Assert.Equal(32, stub.Bodies[0]["max_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Endpoint_that_does_not_stream_is_read_whole_and_json_carries_the_answer()
    {
        using var stub = new StreamingStubServer { Streams = false };
        var repo = AskFixture.Repo();
        var (code, stdout, stderr) = await Run("ask", "--docs", repo, "--endpoint", stub.BaseUrl.ToString(), "--max-context", "8000",
            "--max-answer-tokens", "32", "--max-file-bytes", "4096", "--json", "Summarise.");
        Assert.True(code == 0, stderr);
        var r = LastJson(stdout);
        Assert.Equal("The engine returns 42.", r["answer"]!.GetValue<string>());
        Assert.False(r["streamed"]!.GetValue<bool>());
        Assert.False(r["tokens_exact"]!.GetValue<bool>());
        Assert.Equal("docs", r["mode"]!.GetValue<string>());
        // Documents mode does not apply the generated-header rule: 16 repository files plus src/gen_header.py.
        Assert.StartsWith("Below are 17 documents from the folder", Assert.Single(stub.UserMessages));
    }

    [Fact]
    public async Task Endpoint_without_a_known_window_asks_for_max_context()
    {
        using var stub = new StreamingStubServer();
        var (code, _, stderr) = await Run("ask", "--repo", AskFixture.Repo(), "--endpoint", stub.BaseUrl.ToString(), "Why?");
        Assert.Equal(1, code);
        Assert.Contains("--max-context", stderr);
        Assert.Empty(stub.UserMessages);
    }

    [Fact]
    public async Task A_folder_without_text_files_says_so()
    {
        var r = AskFixture.TempDir("binary-only");
        AskFixture.WriteBytes(r, "logo.png", [1, 2, 3]);
        var (code, _, stderr) = await Run("ask", "--repo", r, "--files-only", "--max-context", "1000");
        Assert.Equal(1, code);
        Assert.Contains("no text files to pack (1 paths skipped", stderr);
    }

    [Fact]
    public async Task Missing_question_or_source_folder_are_user_errors()
    {
        Assert.Contains("--repo DIR", (await Run("ask", "--files-only", "--max-context", "100")).Stderr);
        Assert.Contains("Give the question", (await Run("ask", "--repo", AskFixture.Repo(), "--model", "x")).Stderr);
    }

    [Fact]
    public async Task Local_engine_answers_in_process_and_streams_the_same_text_it_reports()
    {
        var model = AskFixture.Model();
        var r = AskFixture.TempDir("small");
        AskFixture.Write(r, "README.md", "# Tiny\n");
        AskFixture.Write(r, "main.py", "print(42)\n");
        string[] args = ["ask", "--repo", r, "--model", model, "--device", "cpu", "--max-context", "512", "--max-answer-tokens", "6", "What is printed?"];
        var (code, stdout, stderr) = await Run([.. args, "--json"]);
        Assert.True(code == 0, stderr);
        var json = LastJson(stdout);
        Assert.True(json["tokens_exact"]!.GetValue<bool>());
        Assert.Equal(2, json["included_count"]!.GetValue<int>());
        Assert.StartsWith("local:", json["backend"]!.GetValue<string>());
        Assert.InRange(json["completion_tokens"]!.GetValue<int>(), 1, 6);
        var answer = json["answer"]!.GetValue<string>();

        var (code2, streamed, stderr2) = await Run(args);
        Assert.True(code2 == 0, stderr2);
        Assert.Equal(answer + "\n", streamed);
        Assert.Contains("window 512 (--max-context)", stderr2);
    }
}
