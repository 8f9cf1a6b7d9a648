using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace LongContext.Eval.Backends;

/// <summary>
/// Any OpenAI-compatible server. Retries 429, 5xx, connection failures and attempt timeouts with exponential backoff
/// and jitter (Polly.Core), honouring Retry-After; limits requests in flight to <see cref="OpenAiHttpOptions.Concurrency"/>.
/// Other 4xx answers (e.g. context overflow) fail the item at once with the server's message.
/// </summary>
public sealed class OpenAiHttpBackend : IGenerationBackend, IDisposable
{
    private readonly OpenAiHttpOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly SemaphoreSlim _gate;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly Uri _base;

    public OpenAiHttpBackend(OpenAiHttpOptions options, HttpClient? http = null)
    {
        _options = options;
        if (options.MaxRetries < 0) throw new EvalException($"--retries {options.MaxRetries}: give 0 or more.");
        if (options.Mode == EndpointMode.Completions && options.ChatTemplate is null)
            throw new EvalException("--mode completions needs the model's chat template: give --tokenizer DIR (with tokenizer_config.json) or --chat-template base|llama3|meta-chat.");
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        _gate = new SemaphoreSlim(Math.Max(1, options.Concurrency));
        _base = options.NormalizedBase();
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>();
        // Polly requires MaxRetryAttempts >= 1: --retries 0 means no retry strategy at all.
        if (options.MaxRetries > 0)
            pipeline.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromSeconds(60),
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                DelayGenerator = args =>
                {
                    var ra = args.Outcome.Result?.Headers.RetryAfter;
                    TimeSpan? d = ra?.Delta ?? (ra?.Date is { } when ? when - DateTimeOffset.UtcNow : null);
                    return ValueTask.FromResult(d is { } v && v > TimeSpan.Zero ? v : (TimeSpan?)null);
                },
                OnRetry = args => { args.Outcome.Result?.Dispose(); return default; },
            });
        _pipeline = pipeline.AddTimeout(options.AttemptTimeout).Build();
    }

    public string Describe => $"openai-{(_options.Mode == EndpointMode.Chat ? "chat" : "completions")}:{_base} model={_options.Model}"
        + (_options.ChatTemplate is { } t ? $" template={t.Name}" : "");

    public PrefixPlacement PrefixPlacement => _options.Mode == EndpointMode.Chat ? PrefixPlacement.UserMessageEnd : PrefixPlacement.AssistantTurn;

    internal static bool IsTransient(Outcome<HttpResponseMessage> o) =>
        o.Exception is HttpRequestException or TimeoutRejectedException ||
        o.Result is { } r && (r.StatusCode == HttpStatusCode.TooManyRequests || (int)r.StatusCode >= 500);

    /// <summary>The JSON body sent for a request (exposed for tests and --dump).</summary>
    public JsonObject BuildBody(GenerationRequest req)
    {
        req.Validate();
        var body = new JsonObject { ["model"] = _options.Model, ["max_tokens"] = req.MaxNewTokens, ["seed"] = _options.Seed };
        if (req.Greedy) { body["temperature"] = 0.0; body["top_p"] = 1.0; }
        if (req.Stop.Count > 0) body["stop"] = new JsonArray(req.Stop.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
        if (_options.Mode == EndpointMode.Chat)
            body["messages"] = new JsonArray(PromptRenderer.ChatMessages(req).Select(m => (JsonNode?)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray());
        else
            body["prompt"] = PromptRenderer.Render(_options.ChatTemplate!, req);
        return body;
    }

    public async Task<GenerationResult> GenerateAsync(GenerationRequest req, CancellationToken ct)
    {
        var body = BuildBody(req).ToJsonString();
        var url = new Uri(_base, _options.Mode == EndpointMode.Chat ? "chat/completions" : "completions");
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            HttpResponseMessage resp;
            try
            {
                resp = await _pipeline.ExecuteAsync(async token =>
                {
                    using var msg = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                    if (!string.IsNullOrEmpty(_options.ApiKey)) msg.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
                    return await _http.SendAsync(msg, HttpCompletionOption.ResponseContentRead, token).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new EvalException($"Endpoint {url} is unreachable after {_options.MaxRetries} retries ({e.Message}); check --endpoint and that the server is running.", e);
            }
            catch (TimeoutRejectedException e)
            {
                throw new EvalException($"Endpoint {url} did not answer within {_options.AttemptTimeout.TotalSeconds:0.#}s ({_options.MaxRetries} retries); raise --timeout.", e);
            }
            using (resp)
            {
                var text = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                if (!resp.IsSuccessStatusCode)
                    throw new EvalException($"Endpoint {url} answered {(int)resp.StatusCode} {resp.ReasonPhrase}: {Truncate(text, 400)}");
                return Parse(text, url);
            }
        }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// Whether the endpoint serves raw-text /completions (needed for RULER's open-model path): a one-token request
    /// that must answer 2xx. Chat-only servers answer 404/405 or an error that the model is a chat model.
    /// </summary>
    public static async Task<(bool Offered, string Why)> ProbeCompletionsAsync(OpenAiHttpOptions options, HttpClient? http, CancellationToken ct)
    {
        var url = new Uri(options.NormalizedBase(), "completions");
        var client = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(Math.Min(60, Math.Max(1, options.AttemptTimeout.TotalSeconds))));
            var body = new JsonObject { ["model"] = options.Model, ["prompt"] = "Hello", ["max_tokens"] = 1, ["temperature"] = 0.0 }.ToJsonString();
            using var msg = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (!string.IsNullOrEmpty(options.ApiKey)) msg.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
            using var resp = await client.SendAsync(msg, timeout.Token).ConfigureAwait(false);
            return resp.IsSuccessStatusCode ? (true, $"{url} answered {(int)resp.StatusCode}") : (false, $"{url} answered {(int)resp.StatusCode} {resp.ReasonPhrase}");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return (false, $"{url} did not answer ({e.Message})");
        }
        finally
        {
            if (http is null) client.Dispose();
        }
    }

    private GenerationResult Parse(string json, Uri url)
    {
        try
        {
            var root = JsonNode.Parse(json)!;
            var choice = root["choices"]![0]!;
            var text = _options.Mode == EndpointMode.Chat ? choice["message"]?["content"]?.GetValue<string>() : choice["text"]?.GetValue<string>();
            var usage = root["usage"];
            return new GenerationResult(text ?? "", PrefixPlacement,
                usage?["prompt_tokens"]?.GetValue<int>(), usage?["completion_tokens"]?.GetValue<int>(), choice["finish_reason"]?.GetValue<string>());
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            throw new EvalException($"Endpoint {url} returned a body that is not an OpenAI {(_options.Mode == EndpointMode.Chat ? "chat completion" : "completion")}: {Truncate(json, 300)}");
        }
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n] + "…";

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
        _gate.Dispose();
    }
}
