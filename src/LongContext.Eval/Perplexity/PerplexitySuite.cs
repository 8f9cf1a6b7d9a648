using System.Diagnostics;
using System.Text.Json.Nodes;
using LongContext.Eval.Runs;

namespace LongContext.Eval.Perplexity;

/// <summary>A document to score: an id (relative path or file:line) and its text.</summary>
public sealed record PerplexityDocument(string Id, string Text);

/// <summary>Progress of a perplexity run: the document being scored and its tokens done.</summary>
public sealed record PerplexityProgress(int Document, int Documents, string Id, int TokensDone, int Tokens);

/// <summary>What a run did: documents scored now, resumed from perplexity.jsonl, and skipped for being too short.</summary>
public sealed record PerplexityOutcome(int Scored, int Resumed, int TooShort);

/// <summary>
/// Perplexity by position: per-token losses of long documents on the model, summed per position bucket, one
/// perplexity.jsonl line per document (a rerun resumes by document id). The report is <see cref="PerplexityReport"/>.
/// </summary>
public static class PerplexitySuite
{
    public const string SuiteName = "perplexity";
    public const string FileName = "perplexity.jsonl";

    public static RunManifest Manifest(PerplexityOptions o, string modelId, string dataSource)
    {
        var config = new JsonObject
        {
            ["suite"] = SuiteName,
            ["data"] = dataSource,
            ["length"] = o.Length,
            ["bucket_size"] = o.BucketSize,
            ["window"] = o.WindowName,
            ["include_short"] = o.IncludeShort,
            ["backend"] = modelId,
            ["tokenizer"] = modelId,
            ["chat_template"] = "none",
        };
        return new RunManifest
        {
            Suite = SuiteName, ConfigHash = RunManifest.Hash(config), Config = config, Backend = modelId, PrefixPlacement = "none", Lengths = [o.Length],
            Tasks = [new TaskNote(SuiteName, true, true, $"loss per {o.BucketSize}-token position bucket over documents of {dataSource}; window {o.WindowName}; BOS as the tokenizer adds it")],
        };
    }

    /// <summary>Scores the first <see cref="PerplexityOptions.Documents"/> qualifying documents into <paramref name="runDir"/>, skipping those already there.</summary>
    public static PerplexityOutcome Run(ITokenLossScorer scorer, IEnumerable<PerplexityDocument> documents, PerplexityOptions o, string dataSource,
        string runDir, IProgress<PerplexityProgress>? progress = null, CancellationToken ct = default)
    {
        o.Validate();
        var manifest = Manifest(o, scorer.ModelId, dataSource);
        manifest.Write(runDir);
        var path = Path.Combine(runDir, FileName);
        var done = JsonLines.Read<PerplexityRecord>(path).Where(r => r.ConfigHash == manifest.ConfigHash).Select(r => r.Document).ToHashSet(StringComparer.Ordinal);
        int scored = 0, resumed = 0, tooShort = 0, taken = 0;
        foreach (var doc in documents)
        {
            if (taken == o.Documents) break;
            ct.ThrowIfCancellationRequested();
            if (done.Contains(doc.Id)) { resumed++; taken++; continue; }
            var ids = scorer.Tokenizer.Encode(doc.Text, addSpecialTokens: true);
            if (ids.Count < 2 || (ids.Count < o.Length && !o.IncludeShort)) { tooShort++; continue; }
            if (ids.Count > o.Length) ids = ids.Take(o.Length).ToList();
            var index = taken;
            var sw = Stopwatch.StartNew();
            var tokenProgress = progress is null ? null : new InlineProgress<int>(t => progress.Report(new PerplexityProgress(index, o.Documents, doc.Id, t, ids.Count)));
            var losses = Losses(scorer, ids, o, tokenProgress, ct);
            var (sums, counts) = Bucket(losses, o.BucketSize);
            ct.ThrowIfCancellationRequested();
            JsonLines.Append(path, new PerplexityRecord
            {
                Key = $"{SuiteName}|{doc.Id}|{manifest.ConfigHash}", Document = doc.Id, ConfigHash = manifest.ConfigHash, Tokens = ids.Count,
                BucketSize = o.BucketSize, NllSums = sums, Counts = counts, ElapsedSeconds = sw.Elapsed.TotalSeconds,
            });
            scored++;
            taken++;
        }
        if (taken == 0)
            throw new EvalException($"perplexity: no document of {dataSource} has {o.Length} tokens ({tooShort} shorter); lower --length or add --include-short.");
        return new PerplexityOutcome(scored, resumed, tooShort);
    }

    /// <summary>
    /// Losses of positions 1..n−1: one pass over the whole sequence, or sliding windows (HF's perplexity guide: window
    /// [begin, begin+W) scores the tokens past the previous window's end, so each token is scored once).
    /// </summary>
    public static float[] Losses(ITokenLossScorer scorer, IReadOnlyList<int> ids, PerplexityOptions o, IProgress<int>? progress, CancellationToken ct)
    {
        if (o.Window is not int w || ids.Count <= w) return Checked(scorer.TokenLosses(ids, o.Chunk, progress, ct), ids.Count);
        var losses = new float[ids.Count - 1];
        var array = ids as int[] ?? ids.ToArray();
        var prevEnd = 0;
        for (var begin = 0; ; begin += o.Stride)
        {
            ct.ThrowIfCancellationRequested();
            var end = Math.Min(begin + w, ids.Count);
            var window = Checked(scorer.TokenLosses(new ArraySegment<int>(array, begin, end - begin), o.Chunk, null, ct), end - begin);
            var keep = Math.Min(end - prevEnd, window.Length);
            Array.Copy(window, window.Length - keep, losses, end - keep - 1, keep);
            prevEnd = end;
            progress?.Report(end);
            if (end == ids.Count) return losses;
        }
    }

    private static float[] Checked(float[] losses, int tokens) => losses.Length == tokens - 1
        ? losses
        : throw new InvalidOperationException($"the loss scorer returned {losses.Length} losses for {tokens} tokens (expected {tokens - 1})");

    /// <summary>Sums and counts per bucket; losses[i] is the loss of position i + 1.</summary>
    public static (double[] Sums, int[] Counts) Bucket(float[] losses, int bucketSize)
    {
        var buckets = losses.Length / bucketSize + 1;          // position losses.Length is the last one scored
        var sums = new double[buckets];
        var counts = new int[buckets];
        for (var i = 0; i < losses.Length; i++)
        {
            var b = (i + 1) / bucketSize;
            sums[b] += losses[i];
            counts[b]++;
        }
        return (sums, counts);
    }
}
