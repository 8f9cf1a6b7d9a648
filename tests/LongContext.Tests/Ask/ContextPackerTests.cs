using LongContext.Eval.Context;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Ask;

public class ContextPackerTests
{
    private static RepoScan Scan() => RepoScanner.Scan(AskFixture.Repo(), new ScanOptions { MaxFileBytes = 4096 });
    private static PromptTokenCounter Counter() => PromptTokenCounter.FromHfTokenizer(AskFixture.Tokenizer, "fixture");
    private const string Question = "What does Engine.run return?";

    private static PackResult Pack(RepoScan scan, int window, int answer = 16) =>
        ContextPacker.Pack(scan, Question, Counter(), new PackOptions { ContextWindow = window, MaxAnswerTokens = answer, Name = "demo" });

    [Fact]
    public void Each_file_gets_a_header_line_with_path_and_language_and_the_question_comes_last()
    {
        var pack = Pack(Scan(), 100_000);
        Assert.Empty(pack.Omitted);
        Assert.StartsWith("Below are 16 files from the repository \"demo\".", pack.Prompt);
        Assert.Contains("===== FILE: src/app.py (python) =====\nfrom util import add\n\ndef main():\n    print(add(2, 40))\n\n===== FILE: src/test_app.py (python) =====\n", pack.Prompt);
        Assert.Contains("===== FILE: package.json (json) =====", pack.Prompt);
        Assert.EndsWith("===== END OF FILES =====\n\nAnswer the question about this repository, naming the files you rely on.\n\nQuestion: What does Engine.run return?\n", pack.Prompt);
        var headers = pack.Prompt.Split('\n').Where(l => l.StartsWith("===== FILE: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(pack.Included.Select(f => $"===== FILE: {f.Path} ({f.Language}) ====="), headers);
    }

    [Fact]
    public void Prompt_tokens_are_the_real_tokenizer_over_the_chat_template()
    {
        var pack = Pack(Scan(), 100_000);
        var expected = AskFixture.Tokenizer.EncodeChat([new ChatMessage("user", pack.Prompt)], addGenerationPrompt: true).Count;
        Assert.Equal(expected, pack.PromptTokens);
        Assert.True(pack.TokensExact);
        Assert.Equal(AskFixture.Tokenizer.Encode(AskPrompt.Block(Scan().Files.Single(f => f.Path == "src/util.py")), addSpecialTokens: false).Count,
            pack.Included.Single(f => f.Path == "src/util.py").Tokens);
    }

    [Fact]
    public void A_small_window_leaves_out_whole_files_by_priority_and_largest_first_and_stays_within_budget()
    {
        var scan = Scan();
        var full = Pack(scan, 100_000);
        int T(string p) => full.Included.Single(f => f.Path == p).Tokens;
        // Room for the overview, build file, sources and docs, and for tests/helpers.py but not tests/test_engine.py.
        var need = new[] { "README.md", "package.json", "docs/guide.md", "src/README.md", "src/app.py", "src/local.txt", "src/util.py", "src/core/engine.py", "src/core/important.tmp" }.Sum(T);
        Assert.True(T("tests/test_engine.py") > T("tests/helpers.py") + 4);
        var window = full.OverheadTokens + need + T("tests/helpers.py") + T("src/test_app.py") + 2 + 16;
        var pack = Pack(scan, window);

        Assert.True(pack.PromptTokens <= window - 16, $"{pack.PromptTokens} > {window - 16}");
        Assert.Equal(pack.PromptTokens, AskFixture.Tokenizer.EncodeChat([new ChatMessage("user", pack.Prompt)], true).Count);
        Assert.Contains(pack.Omitted, f => f.Path == "tests/test_engine.py");
        Assert.Contains(pack.Included, f => f.Path == "src/test_app.py");
        Assert.Contains(pack.Included, f => f.Path == "tests/helpers.py");
        Assert.All(pack.Omitted, f => Assert.Contains(f.Kind, new[] { FileKind.Test, FileKind.Other }));
        Assert.DoesNotContain("tests/test_engine.py", pack.Prompt);
        Assert.Contains($"{pack.Omitted.Count} more files were left out to fit the context window.", pack.Prompt);
        Assert.Equal(full.Included.Count, pack.Included.Count + pack.Omitted.Count);
        // Kept files keep the packing order.
        Assert.Equal(full.Included.Select(f => f.Path).Where(p => pack.Included.Any(i => i.Path == p)), pack.Included.Select(f => f.Path));
    }

    [Fact]
    public void Within_a_kind_the_largest_files_are_left_out_first()
    {
        var scan = Scan();
        var full = Pack(scan, 100_000);
        var sources = full.Included.Where(f => f.Kind == FileKind.Source).ToList();
        var before = full.Included.Where(f => f.Kind is FileKind.Overview or FileKind.Build).Sum(f => f.Tokens);
        var largest = sources.MaxBy(f => f.Tokens)!;
        var window = full.OverheadTokens + before + sources.Sum(f => f.Tokens) - 1 + 16;
        var pack = Pack(scan, window);
        Assert.Equal(largest.Path, pack.Omitted.Where(f => f.Kind == FileKind.Source).Single().Path);
        Assert.All(pack.Omitted.Where(f => f.Kind == FileKind.Source), o =>
            Assert.All(pack.Included.Where(f => f.Kind == FileKind.Source), i => Assert.True(o.Tokens >= i.Tokens)));
        Assert.True(pack.PromptTokens <= window - 16);
    }

    [Fact]
    public void A_window_with_room_only_for_readme_and_build_files_keeps_just_those()
    {
        var scan = Scan();
        var full = Pack(scan, 100_000);
        var smallest = full.Included.Where(f => f.Kind is not (FileKind.Overview or FileKind.Build)).Min(f => f.Tokens);
        var window = full.OverheadTokens + full.Included.Where(f => f.Kind is FileKind.Overview or FileKind.Build).Sum(f => f.Tokens) + smallest - 1 + 16;
        var pack = Pack(scan, window);
        Assert.Equal(["README.md", "package.json"], pack.Included.Select(f => f.Path));
        Assert.Equal(14, pack.Omitted.Count);
        Assert.True(pack.PromptTokens <= window - 16);
    }

    [Fact]
    public void A_window_too_small_for_the_question_and_answer_is_a_user_error()
    {
        var e = Assert.Throws<AskException>(() => Pack(Scan(), 60, answer: 50));
        Assert.Contains("--max-context", e.Message);
    }

    [Fact]
    public void Without_a_tokenizer_counts_are_estimated_high_and_marked()
    {
        var scan = Scan();
        var estimated = ContextPacker.Pack(scan, Question, PromptTokenCounter.Estimate(), new PackOptions { ContextWindow = 100_000, MaxAnswerTokens = 16 });
        Assert.False(estimated.TokensExact);
        Assert.Contains("estimate", estimated.TokenCounter);
        var bytes = System.Text.Encoding.UTF8.GetByteCount(estimated.Prompt);
        Assert.Equal((int)Math.Ceiling(bytes / PromptTokenCounter.EstimateBytesPerToken) + PromptTokenCounter.EstimatedTemplateTokens, estimated.PromptTokens);
    }
}

public class PromptTokenCounterTests
{
    [Fact]
    public void A_tokenizer_without_template_counts_bare_text_with_bos_and_adds_an_allowance_when_a_server_templates()
    {
        var json = File.ReadAllText(Path.Combine(AskFixture.TokenizerDir, "tokenizer.json"));
        var bare = LongContext.Formats.Tokenization.HfTokenizer.FromJson(json);
        Assert.Null(bare.ChatTemplate);
        var local = PromptTokenCounter.FromHfTokenizer(bare, "bare");
        var served = PromptTokenCounter.FromHfTokenizer(bare, "bare", serverAppliesTemplate: true);
        var withBos = bare.Encode("hello world", addSpecialTokens: true).Count;
        Assert.Equal(withBos, local.CountPrompt("hello world"));
        Assert.True(local.IsExact);
        Assert.Equal(withBos + PromptTokenCounter.EstimatedTemplateTokens, served.CountPrompt("hello world"));
        Assert.False(served.IsExact);
        // A tokenizer that carries its template counts exactly either way.
        Assert.True(PromptTokenCounter.FromHfTokenizer(AskFixture.Tokenizer, "fixture", serverAppliesTemplate: true).IsExact);
    }
}
