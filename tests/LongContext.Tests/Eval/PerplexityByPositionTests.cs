using LongContext.Formats.Tokenization;
using LongContext.Eval.Perplexity;
using LongContext.Eval.Reports;

namespace LongContext.Tests.Eval;

public class PerplexityByPositionTests
{
    /// <summary>The loss of each token is the number of tokens it was given as context, so tests can see what each token saw.</summary>
    internal sealed class ContextLengthScorer : ITokenLossScorer
    {
        public int Calls;
        public int LongestSequence;
        public string ModelId => "context-length@test";
        public ITextTokenizer Tokenizer { get; } = new TestTokenizer();

        public float[] TokenLosses(IReadOnlyList<int> ids, int chunk, IProgress<int>? progress, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            LongestSequence = Math.Max(LongestSequence, ids.Count);
            progress?.Report(ids.Count);
            return Enumerable.Range(1, ids.Count - 1).Select(p => (float)p).ToArray();
        }
    }

    static PerplexityOptions Options(int length, int? window = null, int stride = 3, int bucket = 4) =>
        new() { Length = length, Window = window, Stride = stride, BucketSize = bucket };

    [Fact]
    public void Without_a_window_every_token_sees_its_whole_prefix()
    {
        var scorer = new ContextLengthScorer();
        var losses = PerplexitySuite.Losses(scorer, Enumerable.Range(0, 50).ToArray(), Options(50), null, default);
        Assert.Equal(Enumerable.Range(1, 49).Select(p => (float)p), losses);
        Assert.Equal(1, scorer.Calls);
    }

    [Fact]
    public void Sliding_windows_score_each_token_once_with_the_context_of_hf_strided_perplexity()
    {
        const int w = 8, s = 3, n = 30;
        var scorer = new ContextLengthScorer();
        var losses = PerplexitySuite.Losses(scorer, Enumerable.Range(0, n).ToArray(), Options(n, w, s), null, default);
        Assert.Equal(n - 1, losses.Length);
        for (var p = 1; p < n; p++)
        {
            // Window k = [kS, kS + W) scores the positions past window k−1's end, so position p ≥ W lands in k = ⌈(p − W + 1)/S⌉.
            var k = p < w ? 0 : (p - w + s) / s;
            Assert.Equal(p - k * s, losses[p - 1]);
            Assert.InRange(losses[p - 1], 1, w - 1);
        }
        Assert.Equal(w, scorer.LongestSequence);
        Assert.Equal(1 + (n - w + s - 1) / s, scorer.Calls);
    }

    [Fact]
    public void Buckets_start_at_position_zero_which_has_no_loss()
    {
        var (sums, counts) = PerplexitySuite.Bucket([1, 2, 3, 4, 5, 6, 7, 8, 9], bucketSize: 4);   // positions 1..9
        Assert.Equal([3, 4, 2], counts);
        Assert.Equal([1 + 2 + 3, 4 + 5 + 6 + 7, 8 + 9], sums);
    }

    static string Words(int n, int seed) => string.Join(' ', Enumerable.Range(0, n).Select(i => $"w{(i * 7 + seed) % 97}"));

    [Fact]
    public void Run_skips_short_documents_weights_tokens_across_documents_and_resumes_by_document()
    {
        var scorer = new ContextLengthScorer();
        var dir = EvalFixtures.TempDir("ppl-run");
        // TestTokenizer: each word and each space is a token, no BOS: 2n − 1 tokens for n words.
        PerplexityDocument[] docs = [new("a.txt", Words(10, 1)), new("b.txt", Words(30, 2)), new("c.txt", Words(40, 3)), new("d.txt", Words(40, 4))];
        var options = Options(40, bucket: 16) with { Documents = 2 };
        var first = PerplexitySuite.Run(scorer, docs, options, "test-docs", dir);
        Assert.Equal(new PerplexityOutcome(2, 0, 1), first);                        // a.txt is 19 tokens; b and c are cut to 40
        var summary = RunReport.Write(dir);
        var buckets = summary["buckets"]!.AsArray();
        Assert.Equal(3, buckets.Count);                                          // positions 0–15, 16–31, 32–39
        Assert.Equal([30L, 32L, 16L], buckets.Select(b => b!["tokens"]!.GetValue<long>()));
        Assert.Equal((1 + 15) / 2.0, buckets[0]!["mean_nll"]!.GetValue<double>(), 9);
        Assert.Equal((32 + 39) / 2.0, buckets[2]!["mean_nll"]!.GetValue<double>(), 9);
        Assert.Equal(2, summary["documents"]!.GetValue<int>());
        Assert.True(new FileInfo(Path.Combine(dir, "perplexity_by_position.png")).Length > 1000);
        Assert.Contains("| 0–16 | 30 | 2 |", File.ReadAllText(Path.Combine(dir, "report.md")));

        var again = PerplexitySuite.Run(scorer, docs, options with { Documents = 3 }, "test-docs", dir);
        Assert.Equal(new PerplexityOutcome(1, 2, 1), again);                       // b and c resumed, d scored
        Assert.Equal(3, scorer.Calls);
        Assert.Equal(3, RunReport.Write(dir)["documents"]!.GetValue<int>());
    }

    [Fact]
    public void A_corpus_without_a_long_enough_document_is_a_clear_error()
    {
        var e = Assert.Throws<LongContext.Eval.EvalException>(() =>
            PerplexitySuite.Run(new ContextLengthScorer(), [new PerplexityDocument("a", Words(5, 0))], Options(1000), "tiny", EvalFixtures.TempDir("ppl-short")));
        Assert.Contains("--include-short", e.Message);
    }
}
