using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LongContext.Tests.Server;

/// <summary>
/// One HTTP/1.1 connection over a plain socket, for what HttpClient hides: bytes that are not valid UTF-8, a body that
/// stalls halfway, and a client that vanishes mid-stream (<see cref="Abort"/> resets the connection at once;
/// HttpClient would instead keep draining a disposed response in the background for up to 2 s).
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    readonly Socket socket;
    readonly NetworkStream stream;

    RawHttpConnection(Socket socket)
    {
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<RawHttpConnection> OpenAsync(Uri server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, server.Port);
        return new RawHttpConnection(socket);
    }

    /// <summary>Sends the request line and headers; <paramref name="contentLength"/> announces a body sent with <see cref="SendAsync"/>.</summary>
    public Task SendHeadersAsync(string method, string path, long contentLength, string? apiKey = ServerFixture.ApiKey, string contentType = "application/json")
    {
        var head = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {contentType}\r\nContent-Length: {contentLength}\r\n");
        if (apiKey is not null) head.Append($"Authorization: Bearer {apiKey}\r\n");
        head.Append("\r\n");
        return SendAsync(Encoding.ASCII.GetBytes(head.ToString()));
    }

    public async Task SendAsync(byte[] bytes) => await stream.WriteAsync(bytes);

    /// <summary>A whole request with a body of raw bytes.</summary>
    public async Task SendRequestAsync(string path, byte[] body)
    {
        await SendHeadersAsync("POST", path, body.Length);
        await SendAsync(body);
    }

    /// <summary>Reads the status code and headers of the response.</summary>
    public async Task<int> ReadStatusAsync()
    {
        var statusLine = await ReadLineAsync() ?? throw new IOException("the server closed the connection before answering");
        while (await ReadLineAsync() is { Length: > 0 })
        {
        }
        return int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The next line of the (chunked) body as raw text, chunk-size lines included; null at the end of the stream.</summary>
    public async Task<string?> ReadLineAsync()
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one) == 0) return line.Count == 0 ? null : Encoding.UTF8.GetString(line.ToArray());
            if (one[0] == '\n') return Encoding.UTF8.GetString(line.ToArray()).TrimEnd('\r');
            line.Add(one[0]);
        }
    }

    /// <summary>Everything until the server closes the connection or <paramref name="timeout"/> passes.</summary>
    public async Task<string> ReadRestAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var text = new StringBuilder();
        var buffer = new byte[8192];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0) text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        return text.ToString();
    }

    /// <summary>Closes with a TCP reset (linger 0): the server sees the client gone immediately.</summary>
    public void Abort()
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    public void Dispose()
    {
        stream.Dispose();
        socket.Dispose();
    }
}
