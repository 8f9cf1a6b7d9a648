using System.Net;
using System.Text;
using System.Text.Json;

namespace LongContext.Tests.Server;

/// <summary>Many clients at once against a queue of 8: every request is answered or refused with 429, nothing breaks.</summary>
// Timing-sensitive (disconnects, queue limits, cached-vs-cold speed): runs alone, not beside the parallel tests.
[Collection(CliCollection.Name)]
public sealed class ConcurrencyTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Thirty_two_parallel_requests_against_a_queue_of_eight_are_answered_or_refused()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", ServerFixture.ApiKey);
        var tasks = Enumerable.Range(0, 32).Select(async i =>
        {
            var body = JsonSerializer.Serialize(new
            {
                messages = new[] { new { role = "user", content = $"Request {i}: " + TinyModel.Filler(60, seed: i) } },
                max_tokens = 24,
                temperature = 0,
                stream = i % 2 == 0,
            });
            using var response = await client.PostAsync(new Uri(f.V1, "chat/completions"), new StringContent(body, Encoding.UTF8, "application/json"));
            return (response.StatusCode, Text: await response.Content.ReadAsStringAsync());
        }).ToArray();
        var results = await Task.WhenAll(tasks);
        foreach (var (status, text) in results)
        {
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"{(int)status}: {text}");
            if (status == HttpStatusCode.TooManyRequests)
                Assert.Equal("queue_full", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
            else if (text.StartsWith("data: ", StringComparison.Ordinal))
                Assert.EndsWith("data: [DONE]\n\n", text);
            else
                Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        }
        int ok = results.Count(r => r.StatusCode == HttpStatusCode.OK), refused = results.Length - ok;
        Assert.True(ok >= 8, $"only {ok} answered: a full queue of 8 must be served");
        Assert.Equal(refused, f.Scheduler.Stats.RequestsRejected);

        using var health = await client.GetAsync(new Uri(f.Server.BaseAddress, "health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var h = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("ok", h.GetProperty("status").GetString());
        Assert.Equal(0, h.GetProperty("queue_length").GetInt32());
        Assert.Equal(0, h.GetProperty("active_requests").GetInt32());
    }
}
