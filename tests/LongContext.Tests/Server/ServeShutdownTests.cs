using System.Net;
using System.Text;
using System.Text.Json;
using LongContext.Tests.Cli;

namespace LongContext.Tests.Server;

/// <summary>
/// `longctx serve` as a real process stopped by SIGINT/SIGTERM while it generates: the running stream and the queued
/// requests end with 503 shutting_down (streams with an error event, then [DONE]), and the process exits 0 without a
/// crash (the engine thread leaves libtorch before teardown).
/// </summary>
[Collection(CliCollection.Name)]
public class ServeShutdownTests
{
    static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task A_signal_during_generation_answers_every_request_503_and_exits_0(string signal)
    {
        using var serve = CliProcess.Start("serve", "--model", TinyModel.Dir(), "--device", "cpu", "--port", "0", "--max-context", "4096",
            "--queue", "4", "--prefix-cache", "0", "--json");
        var started = JsonDocument.Parse(await serve.WaitForLineAsync(l => l.StartsWith('{'), TimeSpan.FromSeconds(60))).RootElement;
        var baseUrl = new Uri(started.GetProperty("url").GetString()!);
        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };

        // Running: a stream that only the shutdown can end (greedy "Hello" reaches no end-of-text id in 3000 tokens).
        using var running = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        { Content = Json(new { prompt = "Hello", max_tokens = 3000, temperature = 0, stream = true }) }, HttpCompletionOption.ResponseHeadersRead);
        var runningStream = new StreamReader(await running.Content.ReadAsStreamAsync());
        while ((await runningStream.ReadLineAsync())?.StartsWith("data: {", StringComparison.Ordinal) != true) { }

        // Queued behind it: one plain request and one stream.
        var queuedPlain = http.PostAsync("v1/completions", Json(new { prompt = "queued", max_tokens = 5 }));
        var queuedStream = http.PostAsync("v1/chat/completions", Json(new { messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 5, stream = true }));
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(20))
        {
            var health = JsonDocument.Parse(await http.GetStringAsync("health")).RootElement;
            if (health.GetProperty("queue_length").GetInt32() == 2) break;
            Assert.True(DateTime.UtcNow < deadline, "the two requests never queued");
        }

        serve.Signal(signal);

        var rest = await runningStream.ReadToEndAsync();
        var events = rest.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Trim()).ToList();
        Assert.Equal("data: [DONE]", events[^1]);
        AssertShuttingDown(JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement);

        using var plain = await queuedPlain;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, plain.StatusCode);
        AssertShuttingDown(JsonDocument.Parse(await plain.Content.ReadAsStringAsync()).RootElement);

        using var stream = await queuedStream;
        var streamEvents = (await stream.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Trim()).ToList();
        Assert.Equal("data: [DONE]", streamEvents[^1]);
        AssertShuttingDown(JsonDocument.Parse(streamEvents[^2]["data: ".Length..]).RootElement);

        Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain("Segmentation", serve.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Unhandled exception", serve.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    static void AssertShuttingDown(JsonElement body) =>
        Assert.Equal("shutting_down", body.GetProperty("error").GetProperty("code").GetString());
}
