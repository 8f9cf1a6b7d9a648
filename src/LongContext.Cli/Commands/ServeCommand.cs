using System.CommandLine;
using System.Net;
using LongContext.Core.Inference;
using LongContext.Server.Http;
using LongContext.Server.Scheduling;

namespace LongContext.Cli.Commands;

/// <summary>`longctx serve`: an OpenAI-compatible HTTP server over a local model (loopback by default).</summary>
public static class ServeCommand
{
    public sealed record Started(string Url, string Model, int MaxContext, int Queue, int PrefixCache, bool ApiKey);

    public static Command Create()
    {
        var model = EngineOptions.Model();
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();
        var host = new Option<string>("--host") { Description = "Address to bind: 127.0.0.1 (default), ::1, localhost, 0.0.0.0 or *", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 = any free port)", DefaultValueFactory = _ => 8000 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on /v1 (default: $LONGCTX_API_KEY if set)" };
        var maxContext = new Option<int?>("--max-context") { Description = "Prompt + completion tokens per request (default: max_position_embeddings)" };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait behind the running one; more get 429", DefaultValueFactory = _ => 16 };
        var prefixCache = new Option<int>("--prefix-cache") { Description = "KV caches kept for prefix reuse (0 disables)", DefaultValueFactory = _ => 2 };
        var chunk = new Option<int>("--prefill-chunk") { Description = "Prompt tokens per prefill forward (larger is faster and needs more activation memory)", DefaultValueFactory = _ => 16384 };
        var name = new Option<string?>("--model-name") { Description = "Model id clients send (default: the model folder's name)" };
        var maxBody = new Option<int>("--max-body-mb") { Description = "Largest request body accepted, MiB", DefaultValueFactory = _ => 32 };
        var bodyTimeout = new Option<int>("--body-timeout") { Description = "Seconds a request body may take to arrive; slower ones get 408", DefaultValueFactory = _ => 60 };
        var cmd = new Command("serve", "Serve a local model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics).");
        var kvCache = EngineOptions.KvCache();
        foreach (var o in new Option[] { model, device, dtype, kvCache, host, port, apiKey, maxContext, queue, prefixCache, chunk, name, maxBody, bodyTimeout }) cmd.Options.Add(o);
        cmd.SetHandler(async (parse, ct) =>
        {
            var key = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("LONGCTX_API_KEY");
            var session = EngineOptions.Open(parse.GetValue(model)!, parse.GetValue(device)!, parse.GetValue(dtype));
            using var scheduler = new GenerationScheduler(session, new SchedulerOptions
            {
                QueueCapacity = parse.GetValue(queue),
                PrefixCacheEntries = parse.GetValue(prefixCache),
                MaxContext = parse.GetValue(maxContext),
                PrefillChunk = parse.GetValue(chunk),
                KvCache = EngineOptions.ParseKvCache(parse.GetValue(kvCache)!),
                ModelId = parse.GetValue(name),
            }, ownsSession: true);
            var options = new ServerOptions
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                ApiKey = string.IsNullOrEmpty(key) ? null : key,
                MaxRequestBodyBytes = (long)parse.GetValue(maxBody) << 20,
                RequestBodyTimeout = TimeSpan.FromSeconds(parse.GetValue(bodyTimeout) is int seconds and > 0 ? seconds
                    : throw new ConfigException("--body-timeout must be at least 1 second")),
                ConsoleLogging = true,
            };
            await using var server = OpenAiServer.Create(scheduler, options);
            await server.StartAsync(ct);
            var url = server.BaseAddress.ToString();
            if (options.ApiKey is null && !(IPAddress.TryParse(options.Host, out var ip) && IPAddress.IsLoopback(ip)) && options.Host != "localhost")
                Console.Error.WriteLine($"warning: listening on {options.Host} without --api-key: anyone who can reach this port can use the model");
            if (parse.GetValue(CliCommon.Json))
                CliCommon.WriteJson(new Started(url, scheduler.ModelId, scheduler.MaxContext, scheduler.Options.QueueCapacity, scheduler.Options.PrefixCacheEntries, options.ApiKey is not null));
            else
                Console.Error.WriteLine($"serving {scheduler.ModelId} at {url}v1 (max context {scheduler.MaxContext}, queue {scheduler.Options.QueueCapacity}, prefix cache {scheduler.Options.PrefixCacheEntries}); Ctrl+C stops");
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }
            // Engine first: the running and queued requests end with 503 shutting_down (streams with an error event
            // and [DONE]) and the engine thread leaves libtorch; then Kestrel lets those responses finish and closes.
            Console.Error.WriteLine("shutting down: stopping the engine; running and queued requests get 503 shutting_down");
            scheduler.Stop();
            await server.StopAsync(CancellationToken.None);
            return 0;
        });
        return cmd;
    }
}
