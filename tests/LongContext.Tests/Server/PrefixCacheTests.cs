using LongContext.Core.Inference;
using LongContext.Formats.Tokenization;
using LongContext.Server.Scheduling;
using Xunit.Abstractions;

namespace LongContext.Tests.Server;

/// <summary>Prefix reuse of KV caches: exactly a cold run's tokens, and faster when a long prefix is shared.</summary>
// Timing-sensitive (disconnects, queue limits, cached-vs-cold speed): runs alone, not beside the parallel tests.
[Collection(CliCollection.Name)]
public sealed class PrefixCacheTests(ITestOutputHelper output) : IDisposable
{
    readonly EngineSession session = TinyModel.Open();

    static GenerationRequest Greedy(IReadOnlyList<int> prompt, int maxTokens) => new() { PromptIds = prompt, MaxTokens = maxTokens, Temperature = 0 };

    IReadOnlyList<int> Chat(string document, string question) =>
        session.Tokenizer.EncodeChat([new ChatMessage("system", "Answer from the document.\n" + document), new ChatMessage("user", question)], addGenerationPrompt: true);

    [Fact]
    public async Task Reused_prefix_gives_the_same_greedy_tokens_as_a_cold_run()
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 4096, PrefixCacheEntries = 2 });
        var doc = TinyModel.Filler(200);
        var prompts = new[] { Chat(doc, "Which colour comes first?"), Chat(doc, "Count the rivers."), Chat(doc, "Count the rivers."), Chat(TinyModel.Filler(100, seed: 7), "Other text.") };
        var maxTokens = new[] { 12, 12, 12, 12 };
        var cached = new List<int>();
        for (int i = 0; i < prompts.Length; i++)
        {
            var served = await scheduler.Submit(Greedy(prompts[i], maxTokens[i])).ReadToEndAsync();
            Assert.Equal(TinyModel.ColdGreedy(session, prompts[i], maxTokens[i]), served.Summary.CompletionIds);
            Assert.Equal(TinyModel.StreamText(session, served.Summary.CompletionIds), served.Text);
            cached.Add(served.Summary.CachedPromptTokens);
        }
        int shared = prompts[0].Zip(prompts[1]).TakeWhile(p => p.First == p.Second).Count();
        Assert.True(shared > 300, $"the test prompts share only {shared} tokens");
        Assert.Equal(0, cached[0]);
        Assert.Equal(shared, cached[1]);
        // A hit takes the entry over (it now holds prompt 1); the same prompt again reuses all but its last token
        // (whose logits start generation).
        Assert.Equal(prompts[2].Count - 1, cached[2]);
        // Another document shares only the system instruction's tokens.
        Assert.Equal(prompts[3].Zip(prompts[2]).TakeWhile(p => p.First == p.Second).Count(), cached[3]);
        Assert.True(cached[3] < 40);
        var stats = scheduler.Stats;
        Assert.Equal(4, stats.RequestsCompleted);
        Assert.True(stats.KvCacheBytes > 0);
    }

    [Fact]
    public async Task A_follow_up_turn_reuses_the_generated_answer_and_grows_the_cache_when_needed()
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 4096, PrefixCacheEntries = 1 });
        var first = Chat(TinyModel.Filler(200), "Go on.");
        var a = await scheduler.Submit(Greedy(first, 10)).ReadToEndAsync();
        // The next prompt continues the exact token sequence the cache holds: prompt + fed-back answer tokens.
        var second = first.Concat(a.Summary.CompletionIds).Concat(session.Tokenizer.Encode(" and more words here", addSpecialTokens: false)).ToArray();
        // 300 new tokens need more room than the first cache (power-of-two sized), so the prefix is copied into a larger one.
        var b = await scheduler.Submit(Greedy(second, 300)).ReadToEndAsync();
        Assert.Equal(first.Count + a.Summary.CompletionTokens - 1, b.Summary.CachedPromptTokens);
        Assert.Equal(TinyModel.ColdGreedy(session, second, 300), b.Summary.CompletionIds);
    }

    [Fact]
    public async Task Reusing_a_long_shared_prefix_prefills_faster_than_a_cold_run()
    {
        var doc = TinyModel.Filler(900, seed: 3);
        var prompts = Enumerable.Range(0, 4).Select(i => Chat(doc, $"Question number {i}: what is item {i * 7}?")).ToArray();
        Assert.InRange(prompts[0].Count, 2500, 4000);
        var cold = new List<double>();
        var coldIds = new List<IReadOnlyList<int>>();
        using (var noCache = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 4096, PrefixCacheEntries = 0 }))
        {
            foreach (var p in prompts)
            {
                var r = await noCache.Submit(Greedy(p, 4)).ReadToEndAsync();
                Assert.Equal(0, r.Summary.CachedPromptTokens);
                cold.Add(r.Summary.PrefillSeconds);
                coldIds.Add(r.Summary.CompletionIds);
            }
        }
        var warm = new List<double>();
        using (var withCache = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 4096, PrefixCacheEntries = 2 }))
        {
            for (int i = 0; i < prompts.Length; i++)
            {
                var r = await withCache.Submit(Greedy(prompts[i], 4)).ReadToEndAsync();
                Assert.Equal(coldIds[i], r.Summary.CompletionIds);
                if (i > 0)
                {
                    Assert.True(r.Summary.CachedPromptTokens > prompts[i].Count - 30);
                    warm.Add(r.Summary.PrefillSeconds);
                }
            }
            Assert.Equal(1, withCache.Stats.PrefixCacheMisses);
            Assert.Equal(3, withCache.Stats.PrefixCacheHits);
        }
        double coldMedian = cold.Order().ElementAt(cold.Count / 2), warmMedian = warm.Order().ElementAt(warm.Count / 2);
        output.WriteLine($"prompt {prompts[0].Count} tokens: cold prefill median {coldMedian * 1e3:F1} ms, reused-prefix prefill median {warmMedian * 1e3:F1} ms, speedup {coldMedian / warmMedian:F1}x");
        // Conservative (shared 2-core CI): prefilling ~20 tokens instead of ~3300 must be at least 3x faster.
        Assert.True(warmMedian * 3 < coldMedian, $"reused prefix prefill {warmMedian * 1e3:F1} ms vs cold {coldMedian * 1e3:F1} ms");
    }

    [Fact]
    public async Task Dynamic_rope_reuses_prefixes_only_below_the_original_context_and_stays_exact()
    {
        using var dynamic = TinyModel.Open("llama_dynamic");
        Assert.Equal("dynamic", dynamic.Model.Config.Rope.RopeType);
        int original = dynamic.Model.Config.MaxPositionEmbeddings;
        using var scheduler = new GenerationScheduler(dynamic, new SchedulerOptions { MaxContext = 512, PrefixCacheEntries = 1 });
        var shortDoc = dynamic.Tokenizer.Encode("alpha river stone");
        var longDoc = dynamic.Tokenizer.Encode(TinyModel.Filler(60));
        Assert.True(longDoc.Count > original);
        IReadOnlyList<int> With(IReadOnlyList<int> doc, string tail) => doc.Concat(dynamic.Tokenizer.Encode(tail, addSpecialTokens: false)).ToArray();
        // Short prompts share a prefix below the original context: reused unless the previous request's generation ran
        // past it. Long prompts share ~90 tokens but are above it: never reused.
        var prompts = new[] { With(shortDoc, " one"), With(shortDoc, " two"), With(shortDoc, " three"), With(shortDoc, " four"), With(longDoc, " one"), With(longDoc, " two") };
        var maxTokens = new[] { 5, 5, original, 5, 5, 5 };
        int previousPeak = 0;
        var reused = new List<bool>();
        for (int i = 0; i < prompts.Length; i++)
        {
            var r = await scheduler.Submit(Greedy(prompts[i], maxTokens[i])).ReadToEndAsync();
            Assert.Equal(TinyModel.ColdGreedy(dynamic, prompts[i], maxTokens[i]), r.Summary.CompletionIds);
            bool expected = i > 0 && previousPeak < original && prompts[i].Count < original && prompts[i][0] == prompts[i - 1][0];
            Assert.Equal(expected, r.Summary.CachedPromptTokens > 0);
            reused.Add(r.Summary.CachedPromptTokens > 0);
            // What the cache held afterwards: the prompt and every fed-back token (the last one is not fed at the limit).
            previousPeak = prompts[i].Count + r.Summary.CompletionTokens - (r.Summary.FinishReason == FinishReason.Length ? 1 : 0);
        }
        Assert.Equal([false, true, true], reused.Take(3));
        Assert.Equal([false, false], reused.Skip(4));
    }

    public void Dispose() => session.Dispose();
}
