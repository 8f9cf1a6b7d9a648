using System.ClientModel;
using System.ClientModel.Primitives;
using LongContext.Core.Inference;
using LongContext.Server.Http;
using LongContext.Server.Scheduling;
using OpenAI;
using OpenAI.Chat;

namespace LongContext.Tests.Server;

/// <summary>The tiny model served on a free loopback port with an API key, as `longctx serve` runs it.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string ApiKey = "test-key";
    public EngineSession Session { get; private set; } = null!;
    public GenerationScheduler Scheduler { get; private set; } = null!;
    public OpenAiServer Server { get; private set; } = null!;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
    public Uri V1 => new(Server.BaseAddress, "v1/");
    public string ModelId => Scheduler.ModelId;

    static SchedulerOptions SchedulerOptions => new() { MaxContext = 4096, QueueCapacity = 8, PrefixCacheEntries = 2 };

    public async Task InitializeAsync()
    {
        Session = TinyModel.Open();
        Scheduler = new GenerationScheduler(Session, SchedulerOptions);
        Server = OpenAiServer.Create(Scheduler, new ServerOptions { Port = 0, ApiKey = ApiKey, MaxRequestBodyBytes = 1 << 20 });
        await Server.StartAsync();
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public ChatClient Chat(string? key = null, string? model = null) =>
        new(model ?? ModelId, new ApiKeyCredential(key ?? ApiKey), new OpenAIClientOptions { Endpoint = V1, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

    public OpenAIClientOptions ClientOptions => new() { Endpoint = V1, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Scheduler.Dispose();
        Session.Dispose();
    }
}
