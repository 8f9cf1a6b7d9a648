using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext;
using LongContext.Formats.Tokenization;
using LongContext.Training.Data;

namespace LongContext.Training.Tokenizers;

/// <summary>What a training run produced (also written into tokenizer.json's folder by <see cref="BpeTrainer.Save"/>).</summary>
public sealed record BpeTrainingResult
{
    /// <summary>The tokenizer.json text (HF tokenizers format: byte-level BPE, Llama-3 pre-tokenizer).</summary>
    public required string TokenizerJson { get; init; }
    public required int VocabSize { get; init; }
    public required int Merges { get; init; }
    public required long Documents { get; init; }
    public required long Characters { get; init; }
    public required long Words { get; init; }
    public required int DistinctWords { get; init; }
    /// <summary>Training-word tokens after the last merge (the trainer's own segmentation of what it counted).</summary>
    public required long Tokens { get; init; }
    public required double CountSeconds { get; init; }
    public required double MergeSeconds { get; init; }
    /// <summary>Bytes of UTF-8 per token over the counted text.</summary>
    public double BytesPerToken { get; init; }
    /// <summary>Each counted pre-token (byte-level string) with its ids after the last merge (tests compare HF-style encoding with it).</summary>
    internal IReadOnlyDictionary<string, int[]> Segmentation { get; init; } = new Dictionary<string, int[]>();
}

/// <summary>
/// Trains a byte-level BPE tokenizer from text, as HF tokenizers' BpeTrainer does: pre-tokenize with the very
/// tokenizer layout it writes (so the words it counts are exactly the pre-tokens <see cref="HfTokenizer"/> encodes),
/// start from the 256 byte tokens, and repeatedly merge the most frequent adjacent pair (ties: the smaller pair of
/// ids) until the vocabulary is full or no pair occurs <see cref="BpeTrainerOptions.MinFrequency"/> times. Pair counts
/// are kept incrementally (only words that hold the merged pair are touched), with a max-heap whose stale entries are
/// re-pushed on pop. The merges' order is their rank, so HF-style encoding of the result reproduces the trainer's
/// segmentation of every training word.
/// </summary>
public static class BpeTrainer
{
    public sealed record Progress(string Phase, long Done, long Total, TimeSpan Elapsed);

    /// <summary>Trains on the documents of <paramref name="source"/> (spread over it when MaxCharacters cuts).</summary>
    public static BpeTrainingResult Train(IDocumentSource source, BpeTrainerOptions options, IProgress<Progress>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        var total = source.Describe().TotalBytes;
        // Keep about every k-th document so a cut still sees the whole corpus (many packages, not the first few).
        long stride = options.MaxCharacters is long max && total > max ? Math.Max(1, (long)Math.Ceiling(total / (double)max)) : 1;
        var texts = source.ReadDocuments(ct).Where((_, i) => i % stride == 0).Select(d => d.Text);
        return Train(texts, options, progress, ct);
    }

    public static BpeTrainingResult Train(IEnumerable<string> texts, BpeTrainerOptions options, IProgress<Progress>? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var skeleton = HfTokenizer.FromJson(ToJson(options, [], []), "the trainer's skeleton tokenizer");
        var (counts, documents, characters) = CountWords(texts, skeleton, options, progress, clock, ct);
        double countSeconds = clock.Elapsed.TotalSeconds;
        if (counts.Count == 0) throw new DataException("tokenizer training: the corpus has no text to learn from.");

        // Symbols: ids 0..255 are the byte-level chars in byte order; merge i makes id 256 + i.
        var tokens = new List<string>(options.VocabSize);
        for (int b = 0; b < BpeTrainerOptions.ByteTokens; b++) tokens.Add(ByteLevelAlphabet.ByteToChar[b].ToString());
        var words = new int[counts.Count][];
        var weights = new long[counts.Count];
        var lengths = new int[counts.Count];
        int w = 0;
        long wordTotal = 0;
        var ordered = counts.Keys.Order(StringComparer.Ordinal).ToArray();
        foreach (var word in ordered)
        {
            long count = counts[word];
            var symbols = new int[word.Length];
            for (int i = 0; i < word.Length; i++)
                symbols[i] = ByteLevelAlphabet.TryGetByte(word[i], out byte b) ? b
                    : throw new InvalidOperationException($"pre-token '{word}' holds a char outside the byte-level alphabet");
            words[w] = symbols;
            lengths[w] = symbols.Length;
            weights[w] = count;
            wordTotal += count;
            w++;
        }

        var merges = LearnMerges(words, lengths, weights, options.VocabSize - options.SpecialTokens.Count, options.MinFrequency, tokens, progress, clock, ct);
        long finalTokens = 0;
        for (int i = 0; i < words.Length; i++) finalTokens += lengths[i] * weights[i];
        var json = ToJson(options, tokens, merges.Select(m => (tokens[m.A], tokens[m.B])).ToList());
        long bytes = counts.Sum(kv => (long)kv.Key.Length * kv.Value);
        return new BpeTrainingResult
        {
            TokenizerJson = json,
            VocabSize = tokens.Count + options.SpecialTokens.Count,
            Merges = merges.Count,
            Documents = documents,
            Characters = characters,
            Words = wordTotal,
            DistinctWords = counts.Count,
            Tokens = finalTokens,
            CountSeconds = countSeconds,
            MergeSeconds = clock.Elapsed.TotalSeconds - countSeconds,
            BytesPerToken = bytes / (double)Math.Max(1, finalTokens),
            Segmentation = ordered.Select((word, i) => (word, i)).ToDictionary(x => x.word, x => words[x.i][..lengths[x.i]], StringComparer.Ordinal),
        };
    }

    /// <summary>
    /// Writes tokenizer.json, tokenizer_config.json (BOS/EOS names, no chat template) and training.json into
    /// <paramref name="dir"/>, each as *.tmp then renamed.
    /// </summary>
    public static void Save(BpeTrainingResult result, BpeTrainerOptions options, string dir)
    {
        Directory.CreateDirectory(dir);
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = options.SpecialTokens[0],
            ["eos_token"] = options.SpecialTokens[1],
            ["model_max_length"] = 1_048_576,
            ["clean_up_tokenization_spaces"] = false,
        };
        var summary = JsonSerializer.SerializeToNode(result with { TokenizerJson = "" }, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!.AsObject();
        summary.Remove("tokenizer_json");
        summary["trainer"] = "LongContext.Training.Tokenizers.BpeTrainer";
        foreach (var (name, text) in new[] { ("tokenizer.json", result.TokenizerJson), ("tokenizer_config.json", config.ToJsonString(Indented)), ("training.json", summary.ToJsonString(Indented)) })
        {
            var path = Path.Combine(dir, name);
            File.WriteAllText(path + ".tmp", text + "\n", new UTF8Encoding(false));
            File.Move(path + ".tmp", path, overwrite: true);
        }
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    static (Dictionary<string, long> Counts, long Documents, long Characters) CountWords(IEnumerable<string> texts, HfTokenizer skeleton,
        BpeTrainerOptions options, IProgress<Progress>? progress, Stopwatch clock, CancellationToken ct)
    {
        var merged = new Dictionary<string, long>(StringComparer.Ordinal);
        long documents = 0, characters = 0;
        var local = new ThreadLocal<Dictionary<string, long>>(() => new Dictionary<string, long>(StringComparer.Ordinal), trackAllValues: true);
        var parallel = new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = options.Threads > 0 ? options.Threads : Environment.ProcessorCount };
        var batch = new List<string>();
        long batchChars = 0;
        void Flush()
        {
            Parallel.ForEach(Partitioner.Create(0, batch.Count, 1), parallel, range =>
            {
                var d = local.Value!;
                for (int i = range.Item1; i < range.Item2; i++)
                    foreach (var word in skeleton.PreTokenize(batch[i]))
                        d[word] = d.GetValueOrDefault(word) + 1;
            });
            batch.Clear();
            batchChars = 0;
            progress?.Report(new Progress("count", characters, options.MaxCharacters ?? characters, clock.Elapsed));
        }
        foreach (var text in texts)
        {
            ct.ThrowIfCancellationRequested();
            if (options.MaxCharacters is long max && characters >= max) break;
            batch.Add(text);
            documents++;
            characters += text.Length;
            batchChars += text.Length;
            if (batchChars >= 8 << 20) Flush();
        }
        if (batch.Count > 0) Flush();
        foreach (var d in local.Values)
            foreach (var (word, count) in d)
                merged[word] = merged.GetValueOrDefault(word) + count;
        local.Dispose();
        return (merged, documents, characters);
    }

    static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>
    /// The BPE merge loop until <paramref name="targetTokens"/> tokens exist; words are updated in place (lengths[w]
    /// symbols valid), tokens gets each new merged string. A merge whose string already is a token (e.g. "a"+"bc" after
    /// "ab"+"c") reuses its id, as HF's trainer does.
    /// </summary>
    static List<(int A, int B)> LearnMerges(int[][] words, int[] lengths, long[] weights, int targetTokens, int minFrequency, List<string> tokens,
        IProgress<Progress>? progress, Stopwatch clock, CancellationToken ct)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++) ids[tokens[i]] = i;
        int targetMerges = targetTokens - tokens.Count;
        var pairCounts = new Dictionary<long, long>();
        var where = new Dictionary<long, HashSet<int>>();
        for (int w = 0; w < words.Length; w++)
        {
            var s = words[w];
            for (int i = 0; i + 1 < lengths[w]; i++)
            {
                long k = Key(s[i], s[i + 1]);
                pairCounts[k] = pairCounts.GetValueOrDefault(k) + weights[w];
                if (!where.TryGetValue(k, out var set)) where[k] = set = [];
                set.Add(w);
            }
        }
        // Max-heap on count; ties go to the smaller pair key (smaller first id, then second), deterministic.
        var heap = new PriorityQueue<long, (long Count, long Key)>(Comparer<(long Count, long Key)>.Create((x, y) =>
            x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Key.CompareTo(y.Key)));
        foreach (var (k, c) in pairCounts) heap.Enqueue(k, (c, k));

        var merges = new List<(int, int)>(Math.Max(0, targetMerges));
        var changed = new Dictionary<long, long>();
        while (tokens.Count < targetTokens && heap.TryDequeue(out long top, out var priority))
        {
            ct.ThrowIfCancellationRequested();
            long current = pairCounts.GetValueOrDefault(top);
            if (current != priority.Count)
            {
                if (current > 0) heap.Enqueue(top, (current, top));   // a stale entry: re-queue at the true count
                continue;
            }
            if (current < minFrequency) break;
            int a = (int)(top >> 32), b = (int)(uint)top;
            string text = tokens[a] + tokens[b];
            if (!ids.TryGetValue(text, out int merged))
            {
                merged = tokens.Count;
                tokens.Add(text);
                ids[text] = merged;
            }
            merges.Add((a, b));
            changed.Clear();
            foreach (int w in where[top])
            {
                var s = words[w];
                int n = lengths[w];
                long weight = weights[w];
                int j = 0;   // write index (the word shrinks in place)
                for (int i = 0; i < n; i++)
                {
                    if (i + 1 < n && s[i] == a && s[i + 1] == b)
                    {
                        // Pairs around the occurrence change: (prev, a) → (prev, new), (b, next) → (new, next).
                        if (j > 0)
                        {
                            Bump(changed, Key(s[j - 1], a), -weight);
                            Bump(changed, Key(s[j - 1], merged), weight);
                        }
                        if (i + 2 < n)
                        {
                            Bump(changed, Key(b, s[i + 2]), -weight);
                            Bump(changed, Key(merged, s[i + 2]), weight);
                        }
                        Bump(changed, top, -weight);
                        s[j++] = merged;
                        i++;
                    }
                    else s[j++] = s[i];
                }
                lengths[w] = j;
                for (int i = 0; i + 1 < j; i++)
                    if (s[i] == merged || s[i + 1] == merged)
                    {
                        long k = Key(s[i], s[i + 1]);
                        if (!where.TryGetValue(k, out var set)) where[k] = set = [];
                        set.Add(w);
                    }
            }
            where.Remove(top);
            foreach (var (k, delta) in changed)
            {
                if (delta == 0) continue;
                long c = pairCounts.GetValueOrDefault(k) + delta;
                if (c <= 0) pairCounts.Remove(k);
                else pairCounts[k] = c;
                // A pair that rose (new, or holding a reused id) enters the heap; one that fell is re-queued when popped.
                if (c > 0 && delta > 0) heap.Enqueue(k, (c, k));
            }
            if (merges.Count % 500 == 0) progress?.Report(new Progress("merge", merges.Count, targetMerges, clock.Elapsed));
        }
        progress?.Report(new Progress("merge", merges.Count, targetMerges, clock.Elapsed));
        return merges;
    }

    static void Bump(Dictionary<long, long> changed, long key, long delta) => changed[key] = changed.GetValueOrDefault(key) + delta;

    /// <summary>tokenizer.json for the byte tokens + merged tokens (ids in order) and the special tokens after them.</summary>
    static string ToJson(BpeTrainerOptions options, List<string> tokens, List<(string A, string B)> merges)
    {
        if (tokens.Count == 0) tokens = Enumerable.Range(0, BpeTrainerOptions.ByteTokens).Select(b => ByteLevelAlphabet.ByteToChar[b].ToString()).ToList();
        var vocab = new JsonObject();
        for (int i = 0; i < tokens.Count; i++) vocab[tokens[i]] = i;
        var added = new JsonArray();
        for (int i = 0; i < options.SpecialTokens.Count; i++)
            added.Add(new JsonObject
            {
                ["id"] = tokens.Count + i, ["content"] = options.SpecialTokens[i], ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        var mergeArray = new JsonArray();
        foreach (var (a, b) in merges) mergeArray.Add(new JsonArray(a, b));
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = options.PreTokenizerPattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = mergeArray,
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
