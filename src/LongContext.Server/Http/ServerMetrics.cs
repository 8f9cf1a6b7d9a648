using System.Collections.Concurrent;
using LongContext.Server.Scheduling;

namespace LongContext.Server.Http;

/// <summary>/metrics: the scheduler's counters and gauges plus HTTP responses by route and status.</summary>
internal sealed class ServerMetrics(GenerationScheduler scheduler)
{
    readonly ConcurrentDictionary<(string Route, int Status), long> responses = new();

    public void CountResponse(string route, int status) => responses.AddOrUpdate((route, status), 1, (_, n) => n + 1);

    public string Render()
    {
        var s = scheduler.Stats;
        return new PrometheusText()
            .Metric("longctx_model_info", "gauge", "The served model (value is always 1).", [([("model", scheduler.ModelId)], 1)])
            .Metric("longctx_max_context_tokens", "gauge", "Prompt plus completion tokens allowed per request.", scheduler.MaxContext)
            .Metric("longctx_queue_length", "gauge", "Requests waiting for the engine.", s.QueueLength)
            .Metric("longctx_queue_capacity", "gauge", "Requests that may wait before new ones are refused with 429.", scheduler.Options.QueueCapacity)
            .Metric("longctx_active_requests", "gauge", "Requests generating now (0 or 1: one at a time on the engine).", s.ActiveRequests)
            .Metric("longctx_requests_total", "counter", "Generation requests by outcome (rejected: refused by the scheduler, invalid or queue full; see longctx_http_responses_total for all HTTP errors).",
            [
                ([("outcome", "completed")], s.RequestsCompleted), ([("outcome", "cancelled")], s.RequestsCancelled),
                ([("outcome", "failed")], s.RequestsFailed), ([("outcome", "rejected")], s.RequestsRejected),
            ])
            .Metric("longctx_prompt_tokens_total", "counter", "Prompt tokens of completed requests.", s.PromptTokens)
            .Metric("longctx_completion_tokens_total", "counter", "Generated tokens of completed requests.", s.CompletionTokens)
            .Metric("longctx_prompt_tokens_cached_total", "counter", "Prompt tokens served from the prefix cache (not prefilled).", s.CachedPromptTokens)
            .Metric("longctx_prefix_cache_hits_total", "counter", "Requests that reused a cached KV prefix.", s.PrefixCacheHits)
            .Metric("longctx_prefix_cache_misses_total", "counter", "Requests prefilled from the first token.", s.PrefixCacheMisses)
            .Metric("longctx_kv_cache_bytes", "gauge", "Device memory held by KV caches (in use and kept for prefix reuse).", s.KvCacheBytes)
            .Metric("longctx_tokens_per_second", "gauge", "Decode speed of the most recent request (new tokens per second).", s.LastTokensPerSecond)
            .Metric("longctx_prefill_seconds_total", "counter", "Time spent in prefill.", s.PrefillSeconds)
            .Metric("longctx_decode_seconds_total", "counter", "Time spent decoding.", s.DecodeSeconds)
            .Metric("longctx_http_responses_total", "counter", "HTTP responses by route and status code.",
                responses.OrderBy(kv => kv.Key.Route).ThenBy(kv => kv.Key.Status)
                    .Select(kv => ((IReadOnlyList<(string, string)>)[("route", kv.Key.Route), ("status", kv.Key.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))], (double)kv.Value)))
            .ToString();
    }
}
