using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Eval.Backends;

namespace LongContext.Eval.Context;

/// <summary>
/// Answers through an OpenAI-compatible /chat/completions endpoint with <c>"stream": true</c>: server-sent events are
/// passed on piece by piece; a server that ignores streaming and sends one JSON completion is read whole. The server
/// applies the model's chat template. One attempt (a long prompt is not worth resending blindly); errors name the URL.
/// </summary>
public sealed class OpenAiAnswerer : IAnswerer, IDisposable
{
    private readonly OpenAiHttpOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _base;

    public OpenAiAnswerer(OpenAiHttpOptions options, HttpClient? http = null)
    {
        _options = options;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        _base = options.NormalizedBase();
    }

    public string Describe => $"openai-chat:{_base} model={_options.Model}";

    /// <summary>The request body (exposed for tests).</summary>
    public JsonObject BuildBody(string userMessage, AnswerOptions options)
    {
        var body = new JsonObject
        {
            ["model"] = _options.Model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = userMessage }),
            ["max_tokens"] = options.MaxNewTokens,
            ["temperature"] = options.Temperature,
            ["stream"] = true,
        };
        if (options.Seed is { } seed) body["seed"] = seed;
        return body;
    }

    public async Task<AnswerResult> AnswerAsync(string userMessage, AnswerOptions options, Action<string> onText, CancellationToken ct)
    {
        var url = new Uri(_base, "chat/completions");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.AttemptTimeout);
        using var msg = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(BuildBody(userMessage, options).ToJsonString(), Encoding.UTF8, "application/json") };
        msg.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        msg.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (!string.IsNullOrEmpty(_options.ApiKey)) msg.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        try
        {
            using var resp = await _http.SendAsync(msg, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode)
            {
                var error = await resp.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                throw new AskException($"Endpoint {url} answered {(int)resp.StatusCode} {resp.ReasonPhrase}: {Truncate(error, 400)}");
            }
            if (resp.Content.Headers.ContentType?.MediaType == "text/event-stream")
                return await ReadEventsAsync(resp, url, onText, timeout.Token).ConfigureAwait(false);
            var json = await resp.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            var whole = ParseCompletion(json, url);
            if (whole.Text.Length > 0) onText(whole.Text);
            return whole;
        }
        catch (HttpRequestException e)
        {
            throw new AskException($"Endpoint {url} is unreachable ({e.Message}); check --endpoint and that the server is running.", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new AskException($"Endpoint {url} did not finish within {_options.AttemptTimeout.TotalSeconds:0}s; raise --timeout.", e);
        }
    }

    /// <summary>
    /// Reads the event stream with System.Net.ServerSentEvents' SseParser (the WHATWG rules: an event ends at a blank
    /// line, its data lines are joined with "\n", comments and other fields are skipped), so an event whose JSON spans
    /// several data: lines arrives whole.
    /// </summary>
    private static async Task<AnswerResult> ReadEventsAsync(HttpResponseMessage resp, Uri url, Action<string> onText, CancellationToken ct)
    {
        using var stream = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var text = new StringBuilder();
        string? finish = null;
        int? promptTokens = null, completionTokens = null;
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct).ConfigureAwait(false))
        {
            var data = item.Data.Trim();
            if (data == "[DONE]") break;
            if (data.Length == 0) continue;
            JsonNode? chunk;
            try { chunk = JsonNode.Parse(data); }
            catch (JsonException) { throw new AskException($"Endpoint {url} sent an event that is not JSON: {Truncate(data, 200)}"); }
            if (chunk?["error"] is { } err) throw new AskException($"Endpoint {url} reported an error mid-stream: {Truncate(err.ToJsonString(), 400)}");
            if (chunk?["choices"] is JsonArray { Count: > 0 } choices && choices[0] is { } choice)
            {
                if (choice["delta"]?["content"] is JsonValue v && v.TryGetValue<string>(out var piece) && piece.Length > 0)
                {
                    text.Append(piece);
                    onText(piece);
                }
                if (choice["finish_reason"] is JsonValue f && f.TryGetValue<string>(out var reason)) finish = reason;
            }
            if (chunk?["usage"] is JsonObject usage)
            {
                promptTokens = (int?)usage["prompt_tokens"] ?? promptTokens;
                completionTokens = (int?)usage["completion_tokens"] ?? completionTokens;
            }
        }
        return new AnswerResult(text.ToString(), Streamed: true, promptTokens, completionTokens, finish);
    }

    private static AnswerResult ParseCompletion(string json, Uri url)
    {
        try
        {
            var root = JsonNode.Parse(json)!;
            var choice = root["choices"]![0]!;
            var usage = root["usage"];
            return new AnswerResult(choice["message"]?["content"]?.GetValue<string>() ?? "", Streamed: false,
                (int?)usage?["prompt_tokens"], (int?)usage?["completion_tokens"], choice["finish_reason"]?.GetValue<string>());
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or ArgumentOutOfRangeException or FormatException)
        {
            throw new AskException($"Endpoint {url} returned a body that is not an OpenAI chat completion: {Truncate(json, 300)}");
        }
    }

    /// <summary>
    /// The served model's window from GET /models, where the server reports it (vLLM: max_model_len; others:
    /// context_length or context_window), for the entry named like the model (or the only entry); null otherwise.
    /// </summary>
    public async Task<int?> GetContextWindowAsync(CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            using var msg = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, "models"));
            if (!string.IsNullOrEmpty(_options.ApiKey)) msg.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
            using var resp = await _http.SendAsync(msg, timeout.Token).ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode) return null;
            var data = JsonNode.Parse(await resp.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false))?["data"] as JsonArray;
            if (data is null || data.Count == 0) return null;
            var entry = data.FirstOrDefault(m => (string?)m?["id"] == _options.Model) ?? (data.Count == 1 ? data[0] : null);
            foreach (var key in new[] { "max_model_len", "context_length", "context_window" })
                if (entry?[key] is JsonValue v && v.TryGetValue<int>(out var n) && n > 0) return n;
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException or InvalidOperationException or FormatException)
        {
            if (ct.IsCancellationRequested) throw;
            return null;
        }
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n] + "…";

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}
