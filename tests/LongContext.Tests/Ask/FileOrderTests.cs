using LongContext.Eval.Context;

namespace LongContext.Tests.Ask;

public class FileOrderTests
{
    [Fact]
    public void Readme_and_build_files_come_first_then_docs_sources_by_folder_tests_and_the_rest()
    {
        var scan = RepoScanner.Scan(AskFixture.Repo(), new ScanOptions { MaxFileBytes = 4096 });
        Assert.Equal(
        [
            "README.md", "package.json", "docs/guide.md",
            "src/README.md", "src/app.py", "src/test_app.py", "src/local.txt", "src/util.py", "src/core/engine.py", "src/core/important.tmp",
            "tests/helpers.py", "tests/test_engine.py",
            ".gitignore", "keep.log", "LICENSE", "src/core/.gitignore",
        ], FileOrder.Sort(scan.Files).Select(f => f.Path));
    }

    [Fact]
    public void Order_does_not_depend_on_input_order_and_keeps_a_folder_subtree_together()
    {
        RepoFile F(string path) => new(path, "text", path.Contains("Tests") ? FileKind.Test : FileKind.Source, "x", 1);
        var files = new[] { "a-b/z.cs", "a/b/y.cs", "a/x.cs", "a/Build.csproj", "B/w.cs", "a/EngineTests.cs", "a/Engine.cs", "a/README.md" }.Select(F).ToList();
        var expected = new[] { "a/README.md", "a/Build.csproj", "a/Engine.cs", "a/EngineTests.cs", "a/x.cs", "a/b/y.cs", "a-b/z.cs", "B/w.cs" };
        Assert.Equal(expected, FileOrder.Sort(files).Select(f => f.Path));
        files.Reverse();
        Assert.Equal(expected, FileOrder.Sort(files).Select(f => f.Path));
    }

    [Fact]
    public void Documents_mode_puts_the_root_readme_first_then_tree_order()
    {
        var r = AskFixture.TempDir("docs");
        AskFixture.Write(r, "z.md", "z\n");
        AskFixture.Write(r, "README.txt", "start here\n");
        AskFixture.Write(r, "LICENSE", "mit\n");
        AskFixture.Write(r, "ch1/intro.md", "intro\n");
        AskFixture.Write(r, "ch1/README.md", "chapter\n");
        var scan = RepoScanner.Scan(r, new ScanOptions { Documents = true });
        Assert.Equal(["README.txt", "LICENSE", "z.md", "ch1/README.md", "ch1/intro.md"], FileOrder.Sort(scan.Files).Select(f => f.Path));
    }
}
