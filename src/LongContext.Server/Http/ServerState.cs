using LongContext.Server.Scheduling;

namespace LongContext.Server.Http;

/// <summary>What the endpoints share: the scheduler, the options and the metrics.</summary>
internal sealed class ServerState(GenerationScheduler scheduler, ServerOptions options)
{
    public GenerationScheduler Scheduler { get; } = scheduler;
    public ServerOptions Options { get; } = options;
    public ServerMetrics Metrics { get; } = new(scheduler);
    public long StartedAt { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
