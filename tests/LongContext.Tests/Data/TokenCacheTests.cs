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
