using LongContext.Eval.Context;

namespace LongContext.Tests.Ask;

public class RepoScannerTests
{
    private static readonly ScanOptions Small = new() { MaxFileBytes = 4096 };

    [Fact]
    public void Keeps_exactly_the_text_sources_and_reports_every_left_out_path_with_its_reason()
    {
        var scan = RepoScanner.Scan(AskFixture.Repo(), Small);
        Assert.Equal(AskFixture.Kept, scan.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.Equal(AskFixture.Skipped.Keys.Order(StringComparer.Ordinal), scan.Skipped.Select(s => s.Path).Order(StringComparer.Ordinal));
        foreach (var s in scan.Skipped)
            Assert.StartsWith(AskFixture.Skipped[s.Path], s.Reason);
    }

    [Fact]
    public void Vendored_folders_are_reported_once_not_file_by_file()
    {
        var scan = RepoScanner.Scan(AskFixture.Repo(), Small);
        Assert.DoesNotContain(scan.Skipped, s => s.Path.StartsWith("node_modules/left-pad", StringComparison.Ordinal));
        Assert.DoesNotContain(scan.Skipped, s => s.Path.StartsWith(".git", StringComparison.Ordinal) && s.Path != ".gitignore");
    }

    [Fact]
    public void Without_gitignore_the_ignored_files_come_back_but_vendored_and_binary_rules_still_apply()
    {
        var scan = RepoScanner.Scan(AskFixture.Repo(), Small with { UseGitIgnore = false });
        var kept = scan.Files.Select(f => f.Path).ToHashSet();
        foreach (var p in new[] { "debug.log", "local.txt", "scratch.md", "secrets/key.txt", "src/core/cache.tmp" }) Assert.Contains(p, kept);
        foreach (var p in new[] { "node_modules/left-pad/index.js", "src/logo.png", "yarn.lock", "src/gen_header.py" }) Assert.DoesNotContain(p, kept);
    }

    [Fact]
    public void Exclude_patterns_and_keep_dir_adjust_the_defaults()
    {
        var repo = AskFixture.Repo();
        var scan = RepoScanner.Scan(repo, Small with { Exclude = ["tests/", "*.md"], KeepDirectories = ["vendor"] });
        var kept = scan.Files.Select(f => f.Path).ToHashSet();
        Assert.DoesNotContain("tests/helpers.py", kept);
        Assert.DoesNotContain("README.md", kept);
        Assert.DoesNotContain("src/README.md", kept);
        Assert.Contains("vendor/lib/lib.go", kept);
        Assert.Contains(scan.Skipped, s => s.Path == "tests/" && s.Reason == "ignored (tests/)");
    }

    [Fact]
    public void A_deeper_gitignore_overrides_a_shallower_one()
    {
        var r = AskFixture.TempDir("nested");
        AskFixture.Write(r, ".gitignore", "*.txt\n");
        AskFixture.Write(r, "a/.gitignore", "!keep.txt\n");
        AskFixture.Write(r, "a/keep.txt", "kept\n");
        AskFixture.Write(r, "a/drop.txt", "dropped\n");
        AskFixture.Write(r, "b/keep.txt", "the negation only applies under a/\n");
        var scan = RepoScanner.Scan(r);
        Assert.Equal([".gitignore", "a/.gitignore", "a/keep.txt"], scan.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.Contains(scan.Skipped, s => s.Path == "b/keep.txt" && s.Reason == "ignored (*.txt)");
    }

    [Fact]
    public void Files_are_classified_by_role()
    {
        var scan = RepoScanner.Scan(AskFixture.Repo(), Small);
        FileKind Kind(string p) => scan.Files.Single(f => f.Path == p).Kind;
        Assert.Equal(FileKind.Overview, Kind("README.md"));
        Assert.Equal(FileKind.Build, Kind("package.json"));
        Assert.Equal(FileKind.Docs, Kind("docs/guide.md"));
        Assert.Equal(FileKind.Source, Kind("src/app.py"));
        Assert.Equal(FileKind.Test, Kind("src/test_app.py"));
        Assert.Equal(FileKind.Test, Kind("tests/helpers.py"));
        Assert.Equal(FileKind.Other, Kind("LICENSE"));
        Assert.Equal("python", scan.Files.Single(f => f.Path == "src/app.py").Language);
    }

    [Theory]
    [InlineData("src/SelfTest.cs", new[] { "SelfTest.cs" }, false)]
    [InlineData("src/EngineTests.cs", new[] { "Engine.cs", "EngineTests.cs" }, true)]
    [InlineData("pkg/cache_test.go", new[] { "cache_test.go" }, true)]
    [InlineData("web/button.spec.ts", new[] { "button.spec.ts" }, true)]
    [InlineData("src/Foo.Tests/Bar.cs", new[] { "Bar.cs" }, true)]
    [InlineData("src/latest.py", new[] { "latest.py" }, false)]
    public void Test_files_are_recognised_by_folder_or_by_name(string path, string[] siblings, bool isTest) =>
        Assert.Equal(isTest, FileRules.IsTest(path, siblings));

    [Fact]
    public void Crlf_is_normalised_and_a_bom_dropped()
    {
        var r = AskFixture.TempDir("crlf");
        AskFixture.WriteBytes(r, "a.cs", [0xEF, 0xBB, 0xBF, .. "class A {}\r\n"u8.ToArray()]);
        Assert.Equal("class A {}\n", RepoScanner.Scan(r).Files.Single().Text);
    }

    [Fact]
    public void A_missing_folder_is_a_user_error() =>
        Assert.Throws<AskException>(() => RepoScanner.Scan(Path.Combine(Path.GetTempPath(), "no-such-" + Guid.NewGuid().ToString("N"))));
}

public class GitIgnoreAncestryTests
{
    [Fact]
    public void Scanning_a_subfolder_applies_the_enclosing_repository_ignores_and_excludes()
    {
        var top = AskFixture.TempDir("enclosing");
        AskFixture.Write(top, ".git/info/exclude", "notes.md\n");
        AskFixture.Write(top, ".gitignore", "*.bak\n/sub/pkg/local.cfg\n");
        AskFixture.Write(top, "sub/.gitignore", "gen/\n");
        AskFixture.Write(top, "sub/pkg/a.py", "a = 1\n");
        AskFixture.Write(top, "sub/pkg/a.py.bak", "old\n");
        AskFixture.Write(top, "sub/pkg/local.cfg", "x\n");
        AskFixture.Write(top, "sub/pkg/notes.md", "private\n");
        AskFixture.Write(top, "sub/pkg/gen/out.py", "generated\n");
        var scan = RepoScanner.Scan(Path.Combine(top, "sub", "pkg"));
        Assert.Equal(["a.py"], scan.Files.Select(f => f.Path));
        Assert.Equal(["a.py.bak", "gen/", "local.cfg", "notes.md"], scan.Skipped.Select(s => s.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_linked_worktree_reads_info_exclude_from_the_common_git_dir()
    {
        var main = AskFixture.TempDir("main");
        AskFixture.Write(main, ".git/info/exclude", "scratch.txt\n");
        AskFixture.Write(main, ".git/worktrees/wt/commondir", "../..\n");
        var wt = AskFixture.TempDir("wt");
        AskFixture.Write(wt, ".git", $"gitdir: {Path.Combine(main, ".git", "worktrees", "wt")}\n");
        AskFixture.Write(wt, "scratch.txt", "mine\n");
        AskFixture.Write(wt, "kept.txt", "shared\n");
        var scan = RepoScanner.Scan(wt);
        Assert.Equal(["kept.txt"], scan.Files.Select(f => f.Path));
        Assert.Equal("ignored (scratch.txt)", Assert.Single(scan.Skipped).Reason);
    }
}
