using System.Net;
using System.Security.Cryptography;
using System.Text;
using LongContext.Server.Scheduling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LongContext.Server.Http;

/// <summary>
/// The OpenAI-compatible HTTP server (ASP.NET Core minimal APIs, Kestrel) over a <see cref="GenerationScheduler"/>:
/// /v1/models, /v1/chat/completions, /v1/completions, /health, /metrics. Does not own the scheduler.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    readonly WebApplication app;

    OpenAiServer(WebApplication app) => this.app = app;

    public static OpenAiServer Create(GenerationScheduler scheduler, ServerOptions options)
    {
        var state = new ServerState(scheduler, options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(OpenAiServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        if (options.ConsoleLogging) builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            switch (options.Host)
            {
                case "localhost":
                    if (options.Port == 0) k.Listen(IPAddress.Loopback, 0);
                    else k.ListenLocalhost(options.Port);
                    break;
                case "*" or "0.0.0.0" or "+":
                    k.ListenAnyIP(options.Port);
                    break;
                default:
                    if (!IPAddress.TryParse(options.Host, out var ip))
                        throw new ConfigException($"--host {options.Host}: give an IP address (127.0.0.1, ::1, 0.0.0.0), localhost or *");
                    k.Listen(ip, options.Port);
                    break;
            }
        });
        builder.Services.AddSingleton(state);
        // The owner starts and stops the server: no Ctrl+C/SIGTERM handling of the host's own (ConsoleLifetime).
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        var app = builder.Build();
        app.Use(async (ctx, next) =>
        {
            if (options.ApiKey is string key && ctx.Request.Path.StartsWithSegments("/v1") && !Authorized(ctx.Request, key))
            {
                bool missing = !ctx.Request.Headers.Authorization.Any(v => v?.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) == true);
                await OpenAiErrors.WriteAsync(ctx, StatusCodes.Status401Unauthorized,
                    missing ? "missing API key: send 'Authorization: Bearer KEY'" : "incorrect API key provided", "invalid_request_error", null, "invalid_api_key");
            }
            else
            {
                await next(ctx);
            }
            var route = ctx.GetEndpoint() is RouteEndpoint { Order: < int.MaxValue } e ? e.RoutePattern.RawText ?? "other" : "other";
            state.Metrics.CountResponse(route, ctx.Response.StatusCode);
        });
        // Last line of defence: whatever escapes a route (or the routing itself) is logged and answered without internals.
        app.Use(async (ctx, next) =>
        {
            try
            {
                await next(ctx);
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
            }
            catch (BadHttpRequestException e) when (!ctx.Response.HasStarted)
            {
                await OpenAiErrors.WriteAsync(ctx, e.StatusCode, "the request could not be read: " + e.Message, "invalid_request_error");
            }
            catch (Exception e) when (!ctx.Response.HasStarted)
            {
                await OpenAiErrors.WriteInternalAsync(ctx, e);
            }
        });
        app.MapOpenAiApi();
        app.MapGet("/health", (HttpContext ctx) =>
        {
            var stats = scheduler.Stats;
            ctx.Response.StatusCode = scheduler.IsRunning ? 200 : 503;
            return ctx.Response.WriteAsJsonAsync(new
            {
                status = scheduler.IsRunning ? "ok" : "stopped",
                model = scheduler.ModelId,
                queue_length = stats.QueueLength,
                active_requests = stats.ActiveRequests,
            });
        });
        app.MapGet("/metrics", (HttpContext ctx) =>
        {
            ctx.Response.ContentType = PrometheusText.ContentType;
            return ctx.Response.WriteAsync(state.Metrics.Render());
        });
        app.MapFallback((HttpContext ctx) => OpenAiErrors.WriteAsync(ctx, StatusCodes.Status404NotFound,
            $"unknown route: {ctx.Request.Method} {ctx.Request.Path} (routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions, GET /health, GET /metrics)",
            "invalid_request_error", null, "unknown_url"));
        return new OpenAiServer(app);
    }

    static bool Authorized(HttpRequest request, string key)
    {
        foreach (var value in request.Headers.Authorization)
        {
            if (value is null || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) continue;
            var given = Encoding.UTF8.GetBytes(value["Bearer ".Length..].Trim());
            if (CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(key))) return true;
        }
        return false;
    }

    public Task StartAsync(CancellationToken ct = default) => app.StartAsync(ct);

    public Task StopAsync(CancellationToken ct = default) => app.StopAsync(ct);

    /// <summary>The bound addresses (after <see cref="StartAsync"/>; with port 0 they carry the port chosen).</summary>
    public IReadOnlyList<Uri> Addresses =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.Select(a => new Uri(a)).ToArray() ?? [];

    /// <summary>The first bound address, e.g. http://127.0.0.1:8000/ (append "v1" for OpenAI clients).</summary>
    public Uri BaseAddress => Addresses.Count > 0 ? Addresses[0] : throw new InvalidOperationException("the server is not started");

    public async ValueTask DisposeAsync() => await app.DisposeAsync();

    sealed class EmbeddedHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
