using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LongContext.Tests;

/// <summary>
/// An HTTP server for tests on 127.0.0.1 at a free port: each request runs <see cref="Handle"/> on the thread pool;
/// an exception there answers 500. <see cref="BaseUrl"/> is the OpenAI-style base (…/v1).
/// </summary>
public abstract class LoopbackHttpStub : IDisposable
{
    private readonly HttpListener _listener = new();

    public Uri BaseUrl { get; }

    protected LoopbackHttpStub()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/v1");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    /// <summary>Answers one request (the response must be closed).</summary>
    protected abstract void Handle(HttpListenerContext ctx);

    protected static string ReadBody(HttpListenerContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    protected static void Send(HttpListenerContext ctx, string contentType, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        ctx.Response.ContentType = contentType;
        ctx.Response.OutputStream.Write(bytes);
        ctx.Response.Close();
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => HandleOrFail(ctx));
        }
    }

    private void HandleOrFail(HttpListenerContext ctx)
    {
        try { Handle(ctx); }
        catch (Exception)
        {
            try { ctx.Response.StatusCode = 500; ctx.Response.Close(); } catch (Exception) { /* client gone */ }
        }
    }

    public void Dispose()
    {
        _listener.Close();
        GC.SuppressFinalize(this);
    }
}
