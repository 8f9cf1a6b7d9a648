using System.Net;
using System.Text;
using LongContext.Formats.Tokenization;
using LongContext.Server.Scheduling;

namespace LongContext.Tests.Server;

/// <summary>The guard in front of the tokenizer: a safe byte bound, a bound on concurrent tokenization of large prompts.</summary>
public class PromptLengthGuardTests
{
    static readonly HfTokenizer Tokenizer = HfTokenizer.Load(TinyModel.Dir());
    static string TokenizerJson => Path.Combine(TinyModel.Dir(), "tokenizer.json");

    static PromptLengthGuard Guard(int maxContext, SchedulerOptions? options = null) => new(Tokenizer, maxContext, TokenizerJson, options ?? new SchedulerOptions());

    [Fact]
    public void The_byte_bound_never_undercounts_tokens_even_for_the_longest_token_repeated()
    {
        long perToken = Guard(64).MaxInputBytesPerToken!.Value;
        var longest = Enumerable.Range(0, Tokenizer.VocabSize).Select(id => Tokenizer.Decode([id])).MaxBy(t => Encoding.UTF8.GetByteCount(t))!;
        foreach (var text in new[] { string.Concat(Enumerable.Repeat(longest, 200)), TinyModel.Filler(500), "héllo wörld ✓ " + new string(' ', 300), "<|begin_of_text|>x" })
        {
            int tokens = Tokenizer.Encode(text, addSpecialTokens: false).Count;
            Assert.True(Encoding.UTF8.GetByteCount(text) <= tokens * perToken, $"{tokens} tokens × {perToken} < bytes of '{text[..Math.Min(20, text.Length)]}…'");
        }
    }

    [Fact]
    public void A_prompt_over_the_byte_bound_is_refused_and_one_at_the_bound_is_left_to_the_token_count()
    {
        var guard = Guard(64);
        long perToken = guard.MaxInputBytesPerToken!.Value;
        guard.CheckBytes(new string('a', (int)(64 * perToken)), "prompt");
        var e = Assert.Throws<RequestRejectedException>(() => guard.CheckBytes(new string('a', (int)(64 * perToken) + 1), "prompt"));
        Assert.Equal(RejectionKind.ContextLengthExceeded, e.Kind);
        Assert.Contains("bytes", e.Message);
    }

    [Fact]
    public async Task Large_prompts_beyond_the_tokenization_slots_are_refused_while_small_ones_pass()
    {
        var guard = Guard(64, new SchedulerOptions { LargePromptBytes = 100, LargePromptTokenizations = 1 });
        string large = new('x', 200), small = "short";
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var first = Task.Run(() => guard.Tokenize(large, () => { inside.Set(); release.Wait(); return 1; }));
        inside.Wait();
        var e = Assert.Throws<RequestRejectedException>(() => guard.Tokenize(large, () => 2));
        Assert.Equal(RejectionKind.QueueFull, e.Kind);
        Assert.Equal(3, guard.Tokenize(small, () => 3));
        release.Set();
        Assert.Equal(1, await first);
        Assert.Equal(4, guard.Tokenize(large, () => 4));
    }

    [Theory]
    [InlineData("""{"model":{}}""", 1)]
    [InlineData("""{"normalizer":null,"model":{}}""", 1)]
    [InlineData("""{"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}}""", 1)]
    [InlineData("""{"normalizer":{"type":"NFKC"}}""", 4)]
    [InlineData("""{"normalizer":{"type":"Strip","strip_left":true,"strip_right":true}}""", null)]
    [InlineData("""{"normalizer":{"type":"Replace","pattern":{"String":"abc"},"content":"x"}}""", null)]
    [InlineData("""{"normalizer":{"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "}}""", null)]
    public void The_bound_follows_how_far_the_normalizer_can_shrink_text(string json, int? expected)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("lc-norm-").FullName, "tokenizer.json");
        File.WriteAllText(path, json);
        Assert.Equal(expected, PromptLengthGuard.NormalizerExpansion(path));
    }
}

/// <summary>The same guard reached over HTTP.</summary>
[Collection(CliCollection.Name)]
public sealed class OversizedPromptTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task A_prompt_too_long_by_its_bytes_alone_is_400_without_being_tokenized()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new { prompt = new string('z', 900_000), max_tokens = 1 });
        using var response = await f.Http.PostAsync(new Uri(f.V1, "completions"), new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("context_length_exceeded", text);
        Assert.Contains("bytes", text);   // refused on its size: the token-count refusal names tokens instead
    }
}
