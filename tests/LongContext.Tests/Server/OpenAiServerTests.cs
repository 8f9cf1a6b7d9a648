using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using LongContext.Formats.Tokenization;
using OpenAI.Chat;
using OpenAI.Models;

namespace LongContext.Tests.Server;

/// <summary>The HTTP server driven by the official OpenAI .NET SDK (and raw HTTP where the SDK has no call).</summary>
// Timing-sensitive (disconnects, queue limits, cached-vs-cold speed): runs alone, not beside the parallel tests.
[Collection(CliCollection.Name)]
public sealed class OpenAiServerTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    IReadOnlyList<int> ChatIds(string user) => f.Session.Tokenizer.EncodeChat([new LongContext.Formats.Tokenization.ChatMessage("user", user)], addGenerationPrompt: true);

    async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, object body, string? key = ServerFixture.ApiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(f.V1, path)) { Content = JsonContent(body) };
        request.Headers.Authorization = key is null ? null : new("Bearer", key);
        using var client = new HttpClient();
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    static StringContent JsonContent(object body) => new(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    static void AssertOpenAiError(JsonElement body, string? code)
    {
        var error = body.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        if (code is not null) Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Chat_completion_returns_the_engines_greedy_answer_with_usage()
    {
        var completion = (await f.Chat().CompleteChatAsync([new UserChatMessage("Hello there, model")],
            new ChatCompletionOptions { MaxOutputTokenCount = 10, Temperature = 0 })).Value;
        var ids = ChatIds("Hello there, model");
        var expected = TinyModel.ColdGreedy(f.Session, ids, 10);
        Assert.Equal(TinyModel.StreamText(f.Session, expected), completion.Content[0].Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(expected.Count == 10 ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ids.Count, completion.Usage.InputTokenCount);
        Assert.Equal(expected.Count, completion.Usage.OutputTokenCount);
        Assert.Equal(ids.Count + expected.Count, completion.Usage.TotalTokenCount);
        Assert.Equal(f.ModelId, completion.Model);
    }

    [Fact]
    public async Task Streaming_chat_sends_the_same_text_in_pieces_then_finish_reason_and_usage()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0 };
        var text = new StringBuilder();
        int pieces = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in f.Chat().CompleteChatStreamingAsync([new UserChatMessage("Tell me a story")], options))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                if (part.Text.Length > 0) pieces++;
            }
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        var whole = (await f.Chat().CompleteChatAsync([new UserChatMessage("Tell me a story")], options)).Value;
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.True(pieces > 1, "the answer should arrive in several events");
        Assert.Equal(whole.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage!.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
    }

    [Fact]
    public async Task Raw_sse_stream_ends_with_done()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(f.V1, "completions"))
        { Content = JsonContent(new { prompt = "Once", max_tokens = 4, temperature = 0, stream = true }) };
        using var response = await f.Http.SendAsync(request);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var last = JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement;
        Assert.Equal("text_completion", last.GetProperty("object").GetString());
        Assert.False(string.IsNullOrEmpty(last.GetProperty("choices")[0].GetProperty("finish_reason").GetString()));
    }

    [Fact]
    public async Task Completions_continue_a_raw_prompt_and_accept_token_ids()
    {
        var (status, body) = await PostAsync("completions", new { model = f.ModelId, prompt = "The quick brown fox", max_tokens = 8, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, status);
        var ids = f.Session.Tokenizer.Encode("The quick brown fox");
        var expected = TinyModel.ColdGreedy(f.Session, ids, 8);
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(TinyModel.StreamText(f.Session, expected), choice.GetProperty("text").GetString());
        Assert.Equal(expected.Count == 8 ? "length" : "stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(ids.Count, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.Count, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(ids.Count + expected.Count, usage.GetProperty("total_tokens").GetInt32());

        var (status2, body2) = await PostAsync("completions", new { prompt = ids, max_tokens = 8, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, status2);
        Assert.Equal(choice.GetProperty("text").GetString(), body2.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Models_lists_the_served_model()
    {
        var models = (await new OpenAIModelClient(new ApiKeyCredential(ServerFixture.ApiKey), f.ClientOptions).GetModelsAsync()).Value;
        Assert.Equal([f.ModelId], models.Select(m => m.Id));
    }

    [Fact]
    public async Task Wrong_or_missing_api_key_is_401()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => f.Chat(key: "wrong").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, e.Status);
        var (status, body) = await PostAsync("chat/completions", new { messages = new[] { new { role = "user", content = "hi" } } }, key: null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertOpenAiError(body, "invalid_api_key");
        // Health and metrics stay open for probes and scrapers.
        using var client = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri(f.Server.BaseAddress, "health"))).StatusCode);
    }

    [Fact]
    public async Task Too_long_prompt_and_too_many_tokens_are_400_context_length_exceeded()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => f.Chat().CompleteChatAsync([new UserChatMessage(TinyModel.Filler(2000))]));
        Assert.Equal(400, e.Status);
        var (status, body) = await PostAsync("chat/completions", new { messages = new[] { new { role = "user", content = TinyModel.Filler(2000) } } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertOpenAiError(body, "context_length_exceeded");
        Assert.Contains("4096", body.GetProperty("error").GetProperty("message").GetString());
        var (status2, body2) = await PostAsync("completions", new { prompt = "short", max_tokens = 5000 });
        Assert.Equal(HttpStatusCode.BadRequest, status2);
        Assert.Equal("max_tokens", body2.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Unknown_model_and_unknown_route_are_404()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => f.Chat(model: "no-such-model").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, e.Status);
        var (status, body) = await PostAsync("completions", new { model = "no-such-model", prompt = "hi" });
        Assert.Equal(HttpStatusCode.NotFound, status);
        AssertOpenAiError(body, "model_not_found");
        var (status2, body2) = await PostAsync("embeddings", new { input = "hi" });
        Assert.Equal(HttpStatusCode.NotFound, status2);
        AssertOpenAiError(body2, null);
    }

    [Fact]
    public async Task Malformed_unsupported_or_oversized_requests_are_400()
    {
        var (s1, b1) = await PostAsync("chat/completions", "{\"messages\": [");
        Assert.Equal(HttpStatusCode.BadRequest, s1);
        AssertOpenAiError(b1, null);
        var (s2, b2) = await PostAsync("chat/completions", new { messages = new[] { new { role = "user", content = "hi" } }, n = 2 });
        Assert.Equal(HttpStatusCode.BadRequest, s2);
        Assert.Equal("n", b2.GetProperty("error").GetProperty("param").GetString());
        var (s3, b3) = await PostAsync("completions", new { prompt = new string('a', 2 << 20) });
        Assert.Equal(HttpStatusCode.BadRequest, s3);
        Assert.Contains("limit", b3.GetProperty("error").GetProperty("message").GetString());
        var (s4, _) = await PostAsync("chat/completions", new { messages = new[] { new { role = "wizard", content = "hi" } } });
        Assert.Equal(HttpStatusCode.BadRequest, s4);
    }

    [Fact]
    public async Task Client_disconnect_cancels_generation_and_frees_the_engine()
    {
        long cancelledBefore = f.Scheduler.Stats.RequestsCancelled, completedBefore = f.Scheduler.Stats.RequestsCompleted;
        // Greedy after "Hello" on this fixture reaches no end-of-text id within 3000 tokens (checked), so only the disconnect can end it.
        // A raw socket reset, not a disposed HttpClient response: that one keeps draining the stream in the background
        // for up to 2 s, long enough for a fast machine to finish all 3000 tokens (the test then saw no cancellation).
        using (var connection = await RawHttpConnection.OpenAsync(f.Server.BaseAddress))
        {
            var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { prompt = "Hello", max_tokens = 3000, temperature = 0, stream = true }));
            await connection.SendRequestAsync("/v1/completions", body);
            Assert.Equal(200, await connection.ReadStatusAsync());
            for (int events = 0; events < 3;)
                if ((await connection.ReadLineAsync() ?? throw new IOException("stream ended early")).StartsWith("data: {", StringComparison.Ordinal)) events++;
            connection.Abort();
        }
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (f.Scheduler.Stats.RequestsCancelled == cancelledBefore && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(cancelledBefore + 1, f.Scheduler.Stats.RequestsCancelled);
        Assert.Equal(completedBefore, f.Scheduler.Stats.RequestsCompleted);
        Assert.Equal(0, f.Scheduler.Stats.ActiveRequests);
        var (status, _) = await PostAsync("completions", new { prompt = "next", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Metrics_are_prometheus_text_with_token_and_cache_counters()
    {
        await PostAsync("completions", new { prompt = "metrics please", max_tokens = 3, temperature = 0 });
        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri(f.Server.BaseAddress, "metrics"));
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        double Value(string series) => double.Parse(lines.Single(l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var name in new[] { "longctx_queue_length", "longctx_active_requests", "longctx_tokens_per_second", "longctx_kv_cache_bytes",
                     "longctx_prefix_cache_hits_total", "longctx_prefix_cache_misses_total" })
        {
            Assert.Contains($"# TYPE {name} " + (name.EndsWith("_total", StringComparison.Ordinal) ? "counter" : "gauge"), lines);
            Assert.True(Value(name) >= 0);
        }
        Assert.True(Value("longctx_prompt_tokens_total") >= 3);
        Assert.True(Value("longctx_completion_tokens_total") >= 1);
        Assert.True(Value("longctx_requests_total{outcome=\"completed\"}") >= 1);
        Assert.True(Value("longctx_kv_cache_bytes") > 0);
        Assert.Contains(lines, l => l.StartsWith("longctx_http_responses_total{route=\"/v1/completions\",status=\"200\"}", StringComparison.Ordinal));
    }
}
