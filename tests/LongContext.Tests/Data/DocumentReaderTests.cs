using LongContext.Training.Data;
using Xunit;

namespace LongContext.Tests.Data;

public class DocumentReaderTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "data", name);

    [Fact]
    public void Folder_reader_skips_binaries_invalid_utf8_and_build_folders_in_ordinal_path_order()
    {
        using var dir = new TempDir();
        dir.File("b.txt", "bee");
        dir.File("B.md", "upper bee");
        dir.File("a/z.cs", "class Z {}");
        dir.File("a/y.py", "print('y')");
        dir.Bytes("image.png", [0x89, 0x50, 0x4E, 0x47, 0x00, 0x01]);
        dir.Bytes("latin1.txt", [0x63, 0x61, 0x66, 0xE9]); // "café" in Latin-1: not UTF-8
        dir.File("blank.txt", "  \n\t");
        dir.File(".git/config", "[core]");
        dir.File("node_modules/pkg/index.js", "module.exports = 1;");
        dir.File("src/bin/Debug/out.txt", "build output");
        dir.File("src/obj/x.txt", "intermediate");
        dir.File(".github/ci.yml", "on: push");

        var source = new FolderDocumentSource(dir.Path);
        var docs = source.ReadDocuments().ToList();

        Assert.Equal([".github/ci.yml", "B.md", "a/y.py", "a/z.cs", "b.txt"], docs.Select(d => d.Id));
        Assert.Equal("class Z {}", docs[3].Text);
        Assert.Equal([".git/: excluded folder (excluded_directories)", "node_modules/: excluded folder (excluded_directories)",
            "src/bin/: excluded folder (excluded_directories)", "src/obj/: excluded folder (excluded_directories)",
            "blank.txt: empty", "image.png: binary (contains NUL bytes)", "latin1.txt: not valid UTF-8"], source.Skipped.Select(s => s.ToString()));
    }

    [Fact]
    public void Folder_reader_honours_include_and_exclude_globs()
    {
        using var dir = new TempDir();
        dir.File("src/a.cs", "a");
        dir.File("src/deep/b.cs", "b");
        dir.File("src/deep/b.Generated.cs", "generated");
        dir.File("src/readme.md", "readme");
        dir.File("tests/t.cs", "t");

        var source = new FolderDocumentSource(dir.Path, new FolderSourceOptions { Include = ["src/**/*.cs"], Exclude = ["**/*.Generated.cs"] });

        Assert.Equal(["src/a.cs", "src/deep/b.cs"], source.ReadDocuments().Select(d => d.Id));
        Assert.Equal(["src/a.cs", "src/deep/b.cs"], source.Describe().Files.Select(f => f.Path));
    }

    [Fact]
    public void Folder_reader_skips_files_over_the_size_limit_and_strips_a_utf8_bom()
    {
        using var dir = new TempDir();
        dir.File("big.txt", new string('x', 101));
        dir.Bytes("bom.txt", [0xEF, 0xBB, 0xBF, (byte)'h', (byte)'i']);

        var docs = new FolderDocumentSource(dir.Path, new FolderSourceOptions { MaxFileBytes = 100 }).ReadDocuments().ToList();

        var doc = Assert.Single(docs);
        Assert.Equal(new TextDocument("bom.txt", "hi"), doc);
    }

    [Fact]
    public void Folder_reader_rejects_a_missing_folder()
    {
        var e = Assert.Throws<DataException>(() => new FolderDocumentSource("/nonexistent/corpus").Describe());
        Assert.Contains("/nonexistent/corpus", e.Message);
    }

    [Fact]
    public void Jsonl_reader_reads_the_named_field_and_skips_blank_lines_and_texts()
    {
        var source = new JsonlDocumentSource(Fixture("custom_field.jsonl"), field: "body");

        var docs = source.ReadDocuments().ToList();

        Assert.Equal(["custom_field.jsonl:1", "custom_field.jsonl:4", "custom_field.jsonl:6"], docs.Select(d => d.Id));
        Assert.Equal(["alpha beta", "gamma", "delta é"], docs.Select(d => d.Text));
        Assert.Equal(["custom_field.jsonl:5: empty text"], source.Skipped.Select(s => s.ToString()));
    }

    [Fact]
    public void Jsonl_malformed_line_error_names_file_and_line()
    {
        var source = new JsonlDocumentSource(Fixture("malformed.jsonl"));

        var e = Assert.Throws<DataException>(() => source.ReadDocuments().ToList());

        Assert.Contains("malformed.jsonl:3:", e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Jsonl_missing_field_error_names_file_line_and_field()
    {
        var source = new JsonlDocumentSource(Fixture("missing_field.jsonl"));

        var e = Assert.Throws<DataException>(() => source.ReadDocuments().ToList());

        Assert.Contains("missing_field.jsonl:3:", e.Message);
        Assert.Contains("\"text\"", e.Message);
    }

    [Fact]
    public void Jsonl_non_string_field_is_an_error()
    {
        using var dir = new TempDir();
        string path = dir.File("n.jsonl", "{\"text\": 42}\n");

        var e = Assert.Throws<DataException>(() => new JsonlDocumentSource(path).ReadDocuments().ToList());

        Assert.Contains("n.jsonl:1:", e.Message);
    }

    [Fact]
    public void Jsonl_folder_reads_every_jsonl_file_in_ordinal_order()
    {
        using var dir = new TempDir();
        dir.File("b/2.jsonl", "{\"text\": \"b2\"}\n");
        dir.File("a.jsonl", "{\"text\": \"a\"}\n{\"text\": \"a2\"}\n");
        dir.File("notes.txt", "not json");

        var docs = DocumentSources.Open(dir.Path, DataFormat.Jsonl).ReadDocuments().ToList();

        Assert.Equal(["a.jsonl:1", "a.jsonl:2", "b/2.jsonl:1"], docs.Select(d => d.Id));
    }

    [Fact]
    public void Auto_format_picks_jsonl_for_a_jsonl_file_and_text_for_a_folder()
    {
        using var dir = new TempDir();
        string file = dir.File("d.jsonl", "{\"text\": \"x\"}\n");

        Assert.IsType<JsonlDocumentSource>(DocumentSources.Open(file));
        Assert.IsType<FolderDocumentSource>(DocumentSources.Open(dir.Path));
        Assert.Throws<DataException>(() => DocumentSources.Open(Path.Combine(dir.Path, "missing")));
    }
}
