using System.Net;
using System.Text;
using System.Text.Json;
using LongContext.Server.Http;
using LongContext.Server.Scheduling;
using static TorchSharp.torch;

namespace LongContext.Tests.Server;

/// <summary>
/// Requests an attacker or a buggy client sends: each gets a 4xx naming the problem, and an internal failure gets a
/// generic 500 that carries no exception text, stack trace or path.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class HostileRequestTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    async Task<(HttpStatusCode Status, string Text)> PostAsync(Uri v1, string path, string json)
    {
        using var response = await f.Http.PostAsync(new Uri(v1, path), new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    static JsonElement Error(string text) => JsonDocument.Parse(text).RootElement.GetProperty("error");

    [Fact]
    public async Task Max_tokens_at_int_max_is_refused_as_too_long_instead_of_overflowing()
    {
        var (status, text) = await PostAsync(f.V1, "completions", """{"prompt":"hi","max_tokens":2147483647}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("context_length_exceeded", Error(text).GetProperty("code").GetString());
        var message = Error(text).GetProperty("message").GetString()!;
        Assert.Contains("2147483647 for the completion", message);
        Assert.DoesNotContain("-", message);   // the sum is not a wrapped negative
    }

    [Fact]
    public async Task A_temperature_too_small_to_divide_by_answers_like_greedy()
    {
        var (status, text) = await PostAsync(f.V1, "completions", """{"prompt":"Once upon","max_tokens":6,"temperature":1e-39}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var (_, greedy) = await PostAsync(f.V1, "completions", """{"prompt":"Once upon","max_tokens":6,"temperature":0}""");
        string Choice(string t) => JsonDocument.Parse(t).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.Equal(Choice(greedy), Choice(text));
    }

    [Theory]
    [InlineData("/v1/completions", "{\"prompt\":\"ab\u00ffcd\",\"max_tokens\":1}")]
    [InlineData("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"\u00fe\"}],\"max_tokens\":1}")]
    public async Task A_body_that_is_not_utf8_is_400(string path, string latin1Json)
    {
        // Latin-1 bytes: 0xFF and 0xFE never occur in UTF-8.
        using var connection = await RawHttpConnection.OpenAsync(f.Server.BaseAddress);
        await connection.SendRequestAsync(path, Encoding.Latin1.GetBytes(latin1Json));
        Assert.Equal(400, await connection.ReadStatusAsync());
        Assert.Contains("not valid UTF-8", await connection.ReadRestAsync(TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task A_stalled_request_body_is_408()
    {
        await using var server = OpenAiServer.Create(f.Scheduler, new ServerOptions { Port = 0, RequestBodyTimeout = TimeSpan.FromSeconds(1) });
        await server.StartAsync();
        using var connection = await RawHttpConnection.OpenAsync(server.BaseAddress);
        await connection.SendHeadersAsync("POST", "/v1/completions", contentLength: 200, apiKey: null);
        await connection.SendAsync(Encoding.UTF8.GetBytes("{\"prompt\":\"the rest never comes"));
        Assert.Equal(408, await connection.ReadStatusAsync());
        var body = await connection.ReadRestAsync(TimeSpan.FromSeconds(2));
        Assert.Contains("request_timeout", body);
        Assert.Contains("--body-timeout", body);
    }

    [Theory]
    [InlineData("completions", """{"prompt":"hi","logprobs":1e30}""", "logprobs")]
    [InlineData("completions", """{"prompt":"hi","logprobs":3000000000}""", "logprobs")]
    [InlineData("completions", """{"prompt":"hi","logprobs":-1}""", "logprobs")]
    [InlineData("completions", """{"prompt":"hi","logprobs":"many"}""", "logprobs")]
    [InlineData("chat/completions", """{"messages":[{"role":"user","content":"hi"}],"top_logprobs":99999999999}""", "top_logprobs")]
    [InlineData("chat/completions", """{"messages":[{"role":"user","content":"hi"}],"top_logprobs":21}""", "top_logprobs")]
    public async Task Out_of_range_logprobs_are_400_naming_the_field(string path, string json, string param)
    {
        var (status, text) = await PostAsync(f.V1, path, json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(param, Error(text).GetProperty("param").GetString());
    }

    [Fact]
    public async Task An_internal_failure_is_a_generic_500_without_internals_plain_and_streamed()
    {
        // NaN weights make sampling fail inside libtorch, whose message carries a C++ stack trace and install paths.
        using var session = TinyModel.Open();
        using (no_grad())
            foreach (var (name, p) in session.Model.named_parameters())
                if (name == "lm_head.weight") p.fill_(double.NaN);
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 256 });
        await using var server = OpenAiServer.Create(scheduler, new ServerOptions { Port = 0 });
        await server.StartAsync();
        var v1 = new Uri(server.BaseAddress, "v1/");

        var (status, text) = await PostAsync(v1, "completions", """{"prompt":"hi","max_tokens":3,"temperature":1}""");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        AssertGeneric(Error(text));

        var (streamStatus, stream) = await PostAsync(v1, "completions", """{"prompt":"hi","max_tokens":3,"temperature":1,"stream":true}""");
        Assert.Equal(HttpStatusCode.OK, streamStatus);
        var events = stream.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1].Trim());
        AssertGeneric(Error(events[^2].Trim()["data: ".Length..]));
        Assert.Equal(2, scheduler.Stats.RequestsFailed);   // it really failed inside the engine (not refused earlier)
    }

    static void AssertGeneric(JsonElement error)
    {
        var message = error.GetProperty("message").GetString()!;
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Contains("logged as", message);
        Assert.DoesNotContain("/", message);
        Assert.DoesNotContain("nan", message, StringComparison.OrdinalIgnoreCase);
        Assert.True(message.Length < 200, message);
    }
}
