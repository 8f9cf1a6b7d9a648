namespace LongContext.Server.Http;

/// <summary>Where and how the HTTP server listens.</summary>
public sealed record ServerOptions
{
    /// <summary>An IP address, "localhost", or "*" / "0.0.0.0" for every interface. Loopback by default.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port (see <see cref="OpenAiServer.BaseAddress"/>).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>When set, /v1/* requires "Authorization: Bearer KEY" (/health and /metrics stay open).</summary>
    public string? ApiKey { get; init; }
    /// <summary>Larger request bodies are refused with 400.</summary>
    public long MaxRequestBodyBytes { get; init; } = 32L << 20;
    /// <summary>The whole request body must arrive within this time; a stalled or trickling body gets 408.</summary>
    public TimeSpan RequestBodyTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Write ASP.NET Core warnings and errors to the console.</summary>
    public bool ConsoleLogging { get; init; }
}
