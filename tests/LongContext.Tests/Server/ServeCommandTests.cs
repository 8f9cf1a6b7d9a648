using System.Net;
using System.Net.Sockets;
using LongContext.Cli;

namespace LongContext.Tests.Server;

[Collection(CliCollection.Name)]
public class ServeCommandTests
{
    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Serve_answers_health_and_completions_until_cancelled_then_exits_0()
    {
        int port = FreePort();
        using var cts = new CancellationTokenSource();
        var run = LongCtxApp.RunAsync(["serve", "--model", TinyModel.Path_, "--device", "cpu", "--port", port.ToString(), "--max-context", "256", "--queue", "2"], cts.Token);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        HttpResponseMessage? health = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && !run.IsCompleted;)
        {
            try
            {
                health = await client.GetAsync("health");
                break;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }
        Assert.False(run.IsCompleted, "serve exited before answering /health");
        Assert.Equal(HttpStatusCode.OK, health?.StatusCode);
        var completion = await client.PostAsync("v1/completions", new StringContent("{\"prompt\":\"hi\",\"max_tokens\":2}"));
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        cts.Cancel();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Serve_with_an_unusable_host_fails_with_a_clear_error()
    {
        Assert.Equal(1, await LongCtxApp.RunAsync(["serve", "--model", TinyModel.Path_, "--device", "cpu", "--host", "not a host", "--port", "0"]));
    }
}
