using System.Diagnostics;
using System.Runtime.InteropServices;
using LongContext.Formats.Tokenization;

namespace LongContext.Training.Data;

/// <summary>
/// Tokenizes a document source into a token cache folder, or reuses the cache there when its manifest key matches
/// (same tokenizer files, BOS/EOS handling, source files with equal sizes and mtimes, reader settings). Documents are
/// tokenized in parallel, in chunks, and written in source order. Files are written as *.tmp then renamed, the
/// manifest last; a lock file keeps two processes (e.g. ranks) from building the same folder at once.
/// </summary>
public static class TokenCacheBuilder
{
    public static TokenCacheResult GetOrBuild(string cacheDirectory, IDocumentSource source, ITextTokenizer tokenizer,
        TokenizerIdentity tokenizerIdentity, TokenizeOptions? options = null, IProgress<TokenizeProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new TokenizeOptions();
        cacheDirectory = Path.GetFullPath(cacheDirectory);
        var description = source.Describe();
        CheckNotInsideSource(cacheDirectory, description);
        var key = MakeKey(description, tokenizer, tokenizerIdentity, options);
        Directory.CreateDirectory(cacheDirectory);
        using var cacheLock = AcquireLock(cacheDirectory, cancellationToken);

        string reason = "no cache yet";
        if (File.Exists(Path.Combine(cacheDirectory, TokenCacheManifest.ManifestFile)))
        {
            try
            {
                var cached = TokenCache.Open(cacheDirectory);
                string? mismatch = options.ForceRebuild ? "rebuild requested" : key.Mismatch(cached.Manifest.Key);
                if (mismatch is null) return new TokenCacheResult(cached, true, "cache matches the tokenizer and the data");
                cached.Dispose();
                reason = mismatch;
            }
            catch (DataException e)
            {
                reason = $"the existing cache is unusable ({e.Message})";
            }
        }
        Build(cacheDirectory, source, description.UnmatchedFiles, tokenizer, tokenizerIdentity, key, options, progress, cancellationToken);
        return new TokenCacheResult(TokenCache.Open(cacheDirectory), false, reason);
    }

    internal static TokenCacheKey MakeKey(SourceDescription description, ITextTokenizer tokenizer, TokenizerIdentity identity, TokenizeOptions options)
    {
        int? eos = options.AppendEos ? options.EosTokenId ?? tokenizer.EosTokenId : null;
        if (options.AppendEos && eos is null)
            throw new DataException($"{identity.Description}: the tokenizer has no eos_token to end documents with; give an EOS id or turn EOS appending off");
        return new TokenCacheKey
        {
            TokenizerSha256 = identity.Sha256,
            VocabSize = tokenizer.VocabSize,
            BosTokenId = tokenizer.BosTokenId,
            EosTokenId = eos,
            AddSpecialTokens = options.AddSpecialTokens,
            SourceKind = description.Kind,
            SourceRoot = description.Root,
            SourceSettings = new SortedDictionary<string, string>(description.Settings.ToDictionary(), StringComparer.Ordinal),
            SourceFiles = description.Files,
        };
    }

    private static void CheckNotInsideSource(string cacheDirectory, SourceDescription description)
    {
        string root = Path.TrimEndingDirectorySeparator(description.Root) + Path.DirectorySeparatorChar;
        string cache = Path.TrimEndingDirectorySeparator(cacheDirectory) + Path.DirectorySeparatorChar;
        if (Directory.Exists(description.Root) && cache.StartsWith(root, StringComparison.Ordinal))
        {
            string rel = Path.GetRelativePath(description.Root, cacheDirectory).Replace(Path.DirectorySeparatorChar, '/') + "/";
            if (description.Files.Any(f => f.Path.StartsWith(rel, StringComparison.Ordinal)))
                throw new DataException($"the token cache folder {cacheDirectory} is inside the data folder {description.Root} and its files would be read as data; put the cache elsewhere or exclude it");
        }
    }

    private static FileStream AcquireLock(string cacheDirectory, CancellationToken cancellationToken)
    {
        string path = Path.Combine(cacheDirectory, ".lock");
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                cancellationToken.WaitHandle.WaitOne(250);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    private static void Build(string dir, IDocumentSource source, int unmatchedFiles, ITextTokenizer tokenizer, TokenizerIdentity identity,
        TokenCacheKey key, TokenizeOptions options, IProgress<TokenizeProgress>? progress, CancellationToken cancellationToken)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("token caches are written on little-endian machines only");
        string manifestPath = Path.Combine(dir, TokenCacheManifest.ManifestFile);
        string tokensPath = Path.Combine(dir, TokenCacheManifest.TokensFile);
        string offsetsPath = Path.Combine(dir, TokenCacheManifest.DocumentsFile);
        File.Delete(manifestPath); // from here on the folder is not a valid cache until the new manifest lands

        var clock = Stopwatch.StartNew();
        long documents = 0, tokens = 0, characters = 0, longest = 0;
        using (var tokenStream = new FileStream(tokensPath + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var offsetStream = new FileStream(offsetsPath + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            offsetStream.Write(BitConverter.GetBytes(0L));
            Task<int[][]>? pending = null;
            List<TextDocument>? pendingDocs = null;

            void WriteChunk(List<TextDocument> docs, int[][] encoded)
            {
                for (int i = 0; i < encoded.Length; i++)
                {
                    if (encoded[i].Length == 0) continue;
                    documents++;
                    tokenStream.Write(MemoryMarshal.AsBytes(encoded[i].AsSpan()));
                    tokens += encoded[i].Length;
                    longest = Math.Max(longest, encoded[i].Length);
                    offsetStream.Write(BitConverter.GetBytes(tokens));
                    characters += docs[i].Text.Length;
                }
                progress?.Report(new TokenizeProgress(documents, tokens, characters, clock.Elapsed));
            }

            foreach (var chunk in Chunks(source.ReadDocuments(cancellationToken), options.ChunkCharacters))
            {
                var task = Task.Run(() => Encode(chunk, tokenizer, key, options, cancellationToken), cancellationToken);
                if (pending is not null) WriteChunk(pendingDocs!, pending.GetAwaiter().GetResult());
                (pending, pendingDocs) = (task, chunk);
            }
            if (pending is not null) WriteChunk(pendingDocs!, pending.GetAwaiter().GetResult());
            tokenStream.Flush(flushToDisk: true);
            offsetStream.Flush(flushToDisk: true);
        }

        var skipped = source.Skipped;
        if (documents == 0)
        {
            File.Delete(tokensPath + ".tmp");
            File.Delete(offsetsPath + ".tmp");
            throw new DataException(NothingToTrainOn(key, unmatchedFiles, skipped));
        }
        File.Move(tokensPath + ".tmp", tokensPath, overwrite: true);
        File.Move(offsetsPath + ".tmp", offsetsPath, overwrite: true);
        var manifest = new TokenCacheManifest
        {
            Key = key,
            TokenizerSource = identity.Description,
            Documents = documents,
            Tokens = tokens,
            LongestDocument = longest,
            SkippedCount = skipped.Count,
            Skipped = skipped,
            CreatedUtc = DateTime.UtcNow,
            BuildSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
        };
        File.WriteAllText(manifestPath + ".tmp", manifest.ToJson());
        File.Move(manifestPath + ".tmp", manifestPath, overwrite: true);
    }

    /// <summary>Why a source gave no document: no files, none selected by the globs, or every candidate skipped (with examples).</summary>
    internal static string NothingToTrainOn(TokenCacheKey key, int unmatchedFiles, IReadOnlyList<SkippedInput> skipped)
    {
        var parts = new List<string>();
        if (key.SourceFiles.Count > 0) parts.Add($"{key.SourceFiles.Count:N0} files were read, none held text");
        if (unmatchedFiles > 0 && key.SourceSettings.TryGetValue("include", out var include))
            parts.Add($"{unmatchedFiles:N0} files did not match the include globs ({include.Replace("\n", ", ")})");
        if (skipped.Count > 0)
            parts.Add($"{skipped.Count:N0} skipped ({SkippedInput.Summarize(skipped)}), e.g. {string.Join("; ", skipped.Take(5))}");
        if (parts.Count == 0) parts.Add(key.SourceKind == "jsonl" ? "no .jsonl files found" : "the folder holds no files");
        return $"{key.SourceRoot}: no documents to train on: {string.Join("; ", parts)}. Check the path, the include/exclude globs and the format.";
    }

    /// <summary>Groups the document stream into chunks of about maxCharacters (at least one document each).</summary>
    private static IEnumerable<List<TextDocument>> Chunks(IEnumerable<TextDocument> documents, int maxCharacters)
    {
        var chunk = new List<TextDocument>();
        long size = 0;
        foreach (var doc in documents)
        {
            chunk.Add(doc);
            size += doc.Text.Length;
            if (size >= maxCharacters || chunk.Count >= 4096)
            {
                yield return chunk;
                chunk = [];
                size = 0;
            }
        }
        if (chunk.Count > 0) yield return chunk;
    }

    private static int[][] Encode(List<TextDocument> docs, ITextTokenizer tokenizer, TokenCacheKey key, TokenizeOptions options,
        CancellationToken cancellationToken)
    {
        var result = new int[docs.Count][];
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = Math.Max(1, options.MaxDegreeOfParallelism),
            CancellationToken = cancellationToken,
        };
        Parallel.For(0, docs.Count, parallel, i =>
        {
            var ids = tokenizer.Encode(docs[i].Text, key.AddSpecialTokens);
            bool addEos = key.EosTokenId is int eos && (ids.Count == 0 || ids[^1] != eos);
            var tokens = new int[ids.Count + (addEos ? 1 : 0)];
            for (int j = 0; j < ids.Count; j++) tokens[j] = ids[j];
            if (addEos) tokens[^1] = key.EosTokenId!.Value;
            result[i] = tokens;
        });
        return result;
    }
}
