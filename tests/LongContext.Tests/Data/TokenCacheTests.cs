using LongContext.Formats.Tokenization;
using LongContext.Training.Data;
using Xunit;

namespace LongContext.Tests.Data;

public class TokenCacheTests
{
    private static readonly string TokenizerDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf", "tokenizer");
    private static readonly HfTokenizer Tokenizer = HfTokenizer.Load(TokenizerDir);
    private static readonly TokenizerIdentity Identity = TokenizerIdentity.FromModelDirectory(TokenizerDir);

    private static TempDir Corpus()
    {
        var dir = new TempDir();
        dir.File("data/one.txt", "The quick brown fox jumps over the lazy dog.");
        dir.File("data/two.md", "# Title\n\nSome more text, with punctuation!");
        dir.File("data/sub/three.cs", "class Three { int x = 3; }");
        return dir;
    }

    private static TokenCacheResult Build(TempDir dir, TokenizeOptions? options = null, TokenizerIdentity? identity = null) =>
        TokenCacheBuilder.GetOrBuild(Path.Combine(dir.Path, "cache"), new FolderDocumentSource(Path.Combine(dir.Path, "data")),
            Tokenizer, identity ?? Identity, options);

    [Fact]
    public void Cache_holds_each_document_with_the_tokenizers_bos_and_a_trailing_eos_in_source_order()
    {
        using var dir = Corpus();
        using var result = Build(dir);
        var cache = result.Cache;

        Assert.False(result.Reused);
        Assert.Equal(3, cache.DocumentCount);
        Assert.Equal(["one.txt", "sub/three.cs", "two.md"], cache.Manifest.Key.SourceFiles.Select(f => f.Path));
        var byPath = new Dictionary<string, string>
        {
            ["one.txt"] = "The quick brown fox jumps over the lazy dog.",
            ["sub/three.cs"] = "class Three { int x = 3; }",
            ["two.md"] = "# Title\n\nSome more text, with punctuation!",
        };
        long total = 0;
        for (int d = 0; d < 3; d++)
        {
            var expected = Tokenizer.Encode(byPath[cache.Manifest.Key.SourceFiles[d].Path]).Select(t => (long)t).Append(Tokenizer.EosTokenId!.Value).ToArray();
            Assert.Equal(Tokenizer.BosTokenId, (int)expected[0]);
            Assert.Equal(expected, cache.ReadDocument(d));
            total += expected.Length;
        }
        Assert.Equal(total, cache.TokenCount);
        Assert.Equal(total * 4, new FileInfo(Path.Combine(cache.Directory, "tokens.bin")).Length);
    }

    [Fact]
    public void Second_build_reuses_a_matching_cache()
    {
        using var dir = Corpus();
        long firstTokens;
        using (var first = Build(dir)) firstTokens = first.Cache.TokenCount;

        using var second = Build(dir);

        Assert.True(second.Reused);
        Assert.Equal(firstTokens, second.Cache.TokenCount);
    }

    [Fact]
    public void Changed_source_file_triggers_a_rebuild_with_the_new_text()
    {
        using var dir = Corpus();
        long before;
        using (var first = Build(dir)) before = first.Cache.TokenCount;
        dir.File("data/one.txt", "The quick brown fox jumps over the lazy dog. And again, the fox.");

        using var second = Build(dir);

        Assert.False(second.Reused);
        Assert.Contains("one.txt", second.Reason);
        Assert.True(second.Cache.TokenCount > before);
    }

    [Fact]
    public void Touched_file_with_same_size_triggers_a_rebuild()
    {
        using var dir = Corpus();
        Build(dir).Dispose();
        string path = Path.Combine(dir.Path, "data", "two.md");
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddMinutes(1));

        using var second = Build(dir);

        Assert.False(second.Reused);
    }

    [Fact]
    public void Added_file_triggers_a_rebuild()
    {
        using var dir = Corpus();
        Build(dir).Dispose();
        dir.File("data/four.txt", "four");

        using var second = Build(dir);

        Assert.False(second.Reused);
        Assert.Equal(4, second.Cache.DocumentCount);
    }

    [Fact]
    public void Different_tokenizer_or_eos_setting_triggers_a_rebuild()
    {
        using var dir = Corpus();
        Build(dir).Dispose();

        using (var other = Build(dir, identity: TokenizerIdentity.FromText("another tokenizer.json")))
        {
            Assert.False(other.Reused);
            Assert.Equal("the tokenizer changed", other.Reason);
        }
        using var noEos = Build(dir, new TokenizeOptions { AppendEos = false }, TokenizerIdentity.FromText("another tokenizer.json"));
        Assert.False(noEos.Reused);
        Assert.Equal("the BOS/EOS settings changed", noEos.Reason);
        Assert.Null(noEos.Cache.Manifest.Key.EosTokenId);
        Assert.NotEqual(Tokenizer.EosTokenId!.Value, noEos.Cache.ReadDocument(0)[^1]);
    }

    [Fact]
    public void Truncated_tokens_file_is_a_clear_error_on_open_and_is_rebuilt_by_get_or_build()
    {
        using var dir = Corpus();
        string cacheDir;
        using (var first = Build(dir)) cacheDir = first.Cache.Directory;
        string tokens = Path.Combine(cacheDir, "tokens.bin");
        long length = new FileInfo(tokens).Length;
        using (var f = new FileStream(tokens, FileMode.Open)) f.SetLength(length - 6);

        var e = Assert.Throws<DataException>(() => TokenCache.Open(cacheDir));
        Assert.Contains("tokens.bin", e.Message);
        Assert.Contains("truncated", e.Message);

        using var rebuilt = Build(dir);
        Assert.False(rebuilt.Reused);
        Assert.Contains("unusable", rebuilt.Reason);
        Assert.Equal(length, new FileInfo(tokens).Length);
    }

    [Fact]
    public void Changed_reader_settings_trigger_a_rebuild()
    {
        using var dir = Corpus();
        Build(dir).Dispose();

        using var narrowed = TokenCacheBuilder.GetOrBuild(Path.Combine(dir.Path, "cache"),
            new FolderDocumentSource(Path.Combine(dir.Path, "data"), new FolderSourceOptions { Include = ["**/*.txt"] }), Tokenizer, Identity);

        Assert.False(narrowed.Reused);
        Assert.Equal("the data path or its reader settings changed", narrowed.Reason);
        Assert.Equal(1, narrowed.Cache.DocumentCount);
    }

    [Fact]
    public void Tokenizer_identity_covers_tokenizer_config()
    {
        using var dir = new TempDir();
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(TokenizerDir, f), Path.Combine(dir.Path, f));
        var before = TokenizerIdentity.FromModelDirectory(dir.Path);
        Assert.Equal(Identity.Sha256, before.Sha256);

        File.AppendAllText(Path.Combine(dir.Path, "tokenizer_config.json"), "\n");

        Assert.NotEqual(before.Sha256, TokenizerIdentity.FromModelDirectory(dir.Path).Sha256);
    }

    [Fact]
    public async Task Concurrent_builders_of_one_folder_build_once()
    {
        using var dir = Corpus();

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Build(dir))));

        Assert.Single(results, r => !r.Reused);
        Assert.All(results, r => Assert.Equal(3, r.Cache.DocumentCount));
        foreach (var r in results) r.Dispose();
    }

    [Fact]
    public void Missing_manifest_means_no_cache()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DataException>(() => TokenCache.Open(dir.Path));
        Assert.Contains("manifest.json", e.Message);
    }

    [Fact]
    public void Parallel_small_chunk_build_equals_a_serial_build_and_reports_progress()
    {
        using var dir = new TempDir();
        for (int i = 0; i < 40; i++) dir.File($"data/f{i:D2}.txt", $"document number {i} " + new string('a', i % 7) + " end");
        var reports = new List<TokenizeProgress>();
        var progress = new SyncProgress<TokenizeProgress>(reports.Add);

        using var serial = TokenCacheBuilder.GetOrBuild(Path.Combine(dir.Path, "serial"), new FolderDocumentSource(Path.Combine(dir.Path, "data")),
            Tokenizer, Identity, new TokenizeOptions { MaxDegreeOfParallelism = 1 });
        using var parallel = TokenCacheBuilder.GetOrBuild(Path.Combine(dir.Path, "parallel"), new FolderDocumentSource(Path.Combine(dir.Path, "data")),
            Tokenizer, Identity, new TokenizeOptions { MaxDegreeOfParallelism = 4, ChunkCharacters = 64 }, progress);

        Assert.Equal(File.ReadAllBytes(Path.Combine(serial.Cache.Directory, "tokens.bin")), File.ReadAllBytes(Path.Combine(parallel.Cache.Directory, "tokens.bin")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(serial.Cache.Directory, "documents.bin")), File.ReadAllBytes(Path.Combine(parallel.Cache.Directory, "documents.bin")));
        Assert.True(reports.Count > 5);
        Assert.Equal(40, reports[^1].Documents);
        Assert.Equal(parallel.Cache.TokenCount, reports[^1].Tokens);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.Second.Tokens > p.First.Tokens));
    }

    [Fact]
    public void Corpus_without_documents_is_an_error_naming_the_folder()
    {
        using var dir = new TempDir();
        dir.Bytes("data/blob.bin", [1, 0, 2]);

        var e = Assert.Throws<DataException>(() => Build(dir));

        Assert.Contains("no documents", e.Message);
        Assert.Contains("blob.bin", e.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, "cache", "manifest.json")));
    }

    [Fact]
    public void Corpus_whose_files_are_all_skipped_says_why_for_each_kind()
    {
        using var dir = new TempDir();
        dir.File("data/huge.txt", new string('x', 300));
        dir.File("data/.git/HEAD", "ref: refs/heads/main");
        File.CreateSymbolicLink(Path.Combine(dir.Path, "data", "loop"), Path.Combine(dir.Path, "data", "loop"));

        var e = Assert.Throws<DataException>(() => TokenCacheBuilder.GetOrBuild(Path.Combine(dir.Path, "cache"),
            new FolderDocumentSource(Path.Combine(dir.Path, "data"), new FolderSourceOptions { MaxFileBytes = 100 }), Tokenizer, Identity));

        Assert.Contains("no documents to train on: 3 skipped (1 excluded folder, 1 symbolic link loop, 1 too large)", e.Message);
        Assert.Contains("huge.txt: too large (300 bytes > the 100-byte limit; raise it with --max-file-bytes)", e.Message);
    }

    [Fact]
    public void Empty_folder_and_folder_without_matching_files_say_so()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "data"));
        var empty = Assert.Throws<DataException>(() => Build(dir));
        Assert.Contains("no documents to train on: the folder holds no files", empty.Message);

        dir.File("data/notes.txt", "text");
        var unmatched = Assert.Throws<DataException>(() => TokenCacheBuilder.GetOrBuild(Path.Combine(dir.Path, "cache"),
            new FolderDocumentSource(Path.Combine(dir.Path, "data"), new FolderSourceOptions { Include = ["**/*.py", "**/*.md"] }), Tokenizer, Identity));
        Assert.Contains("1 files did not match the include globs (**/*.py, **/*.md)", unmatched.Message);
    }

    [Fact]
    public void Manifest_lists_every_skipped_entry_and_the_summary_counts_them_by_reason()
    {
        using var dir = Corpus();
        for (int i = 0; i < 120; i++) dir.Bytes($"data/bin/blob{i:D3}.dat", [1, 0, 2]);   // "bin" is an excluded folder name
        for (int i = 0; i < 120; i++) dir.Bytes($"data/blobs/blob{i:D3}.dat", [1, 0, 2]);
        dir.File("data/big.txt", new string('y', 9 << 20));

        using var result = Build(dir);
        var summary = CorpusSummary.From(result);

        Assert.Equal(122, result.Cache.Manifest.SkippedCount);
        Assert.Equal(122, result.Cache.Manifest.Skipped.Count);                         // all of them, not the first 100
        Assert.Contains(new SkippedInput("blobs/blob119.dat", "binary (contains NUL bytes)"), result.Cache.Manifest.Skipped);
        using (var reopened = TokenCache.Open(result.Cache.Directory))
            Assert.Equal(result.Cache.Manifest.Skipped, reopened.Manifest.Skipped);
        var lines = summary.Lines().ToList();
        Assert.EndsWith("; skipped 122: 120 binary, 1 excluded folder, 1 too large", lines[0]);
        Assert.StartsWith("data: 3 documents, ", lines[0]);
        Assert.Equal("  skipped big.txt: too large (9,437,184 bytes > the 8,388,608-byte limit; raise it with --max-file-bytes)", lines[1]);
        Assert.Contains("117 more in", lines[^1]);
    }

    [Fact]
    public void Cache_of_an_older_format_is_rebuilt_with_the_reason()
    {
        using var dir = Corpus();
        string manifest;
        using (var first = Build(dir)) manifest = Path.Combine(first.Cache.Directory, TokenCacheManifest.ManifestFile);
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"version\": 2", "\"version\": 1").Replace("\"skipped\": []", "\"skipped\": [\"a: b\"]"));

        using var second = Build(dir);

        Assert.False(second.Reused);
        Assert.Contains("format version 1, this build reads 2", second.Reason);
    }

    [Fact]
    public void Cache_folder_inside_the_data_folder_is_refused()
    {
        using var dir = Corpus();
        dir.File("data/cache/leftover.txt", "x");

        var e = Assert.Throws<DataException>(() => TokenCacheBuilder.GetOrBuild(Path.Combine(dir.Path, "data", "cache"),
            new FolderDocumentSource(Path.Combine(dir.Path, "data")), Tokenizer, Identity));

        Assert.Contains("inside the data folder", e.Message);
    }

    [Fact]
    public void Cache_packs_the_same_batches_as_the_in_memory_corpus()
    {
        using var dir = Corpus();
        using var result = Build(dir);
        var memory = new InMemoryTokenCorpus(Enumerable.Range(0, 3).Select(d => (IReadOnlyList<int>)result.Cache.ReadDocument(d).Select(t => (int)t).ToArray()));
        var options = new PackingOptions { SequenceLength = 7, BatchSize = 2, Seed = 3, ResetPositionIds = true };

        var fromCache = new PackedDataSource(result.Cache, options);
        var fromMemory = new PackedDataSource(memory, options);

        for (int i = 0; i < 5; i++)
        {
            var a = fromCache.Next();
            var b = fromMemory.Next();
            Assert.Equal(b.InputIds, a.InputIds);
            Assert.Equal(b.Labels, a.Labels);
            Assert.Equal(b.PositionIds, a.PositionIds);
        }
    }

    /// <summary>IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
