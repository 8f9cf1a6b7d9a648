using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LongContext.Parallel.Distributed.Store;

/// <summary>
/// Client of the rendezvous store that rank 0 hosts (<see cref="TcpStoreServer"/>) at MASTER_ADDR:MASTER_PORT.
/// One request at a time per connection (a lock); a thread that must not wait behind a long Get opens its own with
/// <see cref="Connect"/>. The store has no authentication, like torch's TCPStore: keep the port inside the cluster.
/// </summary>
public sealed class TcpStore : IStore
{
    internal const uint Magic = 0x4C435354; // "LCST"
    internal enum Op : byte { Set = 1, Get = 2, TryGet = 3, Add = 4, Delete = 5 }

    readonly Socket socket;
    readonly object gate = new();
    readonly TcpStoreServer? server;
    bool disposed;

    public string Host { get; }
    public int Port { get; }
    /// <summary>This side's address of the connection: the address other ranks can reach this host at.</summary>
    public IPAddress LocalAddress => ((IPEndPoint)socket.LocalEndPoint!).Address;

    TcpStore(Socket socket, string host, int port, TcpStoreServer? server) => (this.socket, Host, Port, this.server) = (socket, host, port, server);

    /// <summary>
    /// Connects to the store at <paramref name="host"/>:<paramref name="port"/>, retrying until
    /// <paramref name="timeout"/> (the host may start later). With <paramref name="hostServer"/>, first starts the
    /// server on <paramref name="port"/> (0 picks a free one; <see cref="Port"/> tells which); disposing this client
    /// stops it.
    /// </summary>
    public static TcpStore Connect(string host, int port, TimeSpan timeout, bool hostServer = false)
    {
        var server = hostServer ? TcpStoreServer.Start(port) : null;
        if (server is not null) port = server.Port;
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (true)
        {
            try
            {
                foreach (var address in Dns.GetHostAddresses(host).OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1))
                {
                    var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        s.Connect(new IPEndPoint(address, port));
                        Span<byte> magic = stackalloc byte[4];
                        BinaryPrimitives.WriteUInt32LittleEndian(magic, Magic);
                        s.Send(magic);
                        return new TcpStore(s, host, port, server);
                    }
                    catch (SocketException e)
                    {
                        last = e;
                        s.Dispose();
                    }
                }
            }
            catch (SocketException e) { last = e; } // name not resolvable (yet)
            if (DateTime.UtcNow >= deadline)
            {
                server?.Dispose();
                throw new DistributedException($"could not reach the rendezvous store at {host}:{port} within {timeout.TotalSeconds:F0} s ({last?.Message}): " +
                    "check MASTER_ADDR/MASTER_PORT, that rank 0 started, and that the port is open between the nodes.");
            }
            Thread.Sleep(100);
        }
    }

    public void Set(string key, byte[] value) => Request(Op.Set, key, 0, value, TimeSpan.FromSeconds(60));

    public byte[] Get(string key, TimeSpan timeout)
    {
        var (status, value) = Request(Op.Get, key, (long)timeout.TotalMilliseconds, [], timeout + TimeSpan.FromSeconds(30));
        return status == 0 ? value : throw new DistributedException($"store key '{key}' was not set within {timeout.TotalSeconds:F1} s");
    }

    public byte[]? TryGet(string key)
    {
        var (status, value) = Request(Op.TryGet, key, 0, [], TimeSpan.FromSeconds(60));
        return status == 0 ? value : null;
    }

    public long Add(string key, long delta) => BitConverter.ToInt64(Request(Op.Add, key, delta, [], TimeSpan.FromSeconds(60)).Value);

    public bool Delete(string key) => Request(Op.Delete, key, 0, [], TimeSpan.FromSeconds(60)).Status == 0;

    (byte Status, byte[] Value) Request(Op op, string key, long arg, byte[] value, TimeSpan replyTimeout)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            try
            {
                var keyBytes = Encoding.UTF8.GetBytes(key);
                var request = new byte[1 + 4 + keyBytes.Length + 8 + 4 + value.Length];
                request[0] = (byte)op;
                BinaryPrimitives.WriteInt32LittleEndian(request.AsSpan(1), keyBytes.Length);
                keyBytes.CopyTo(request, 5);
                BinaryPrimitives.WriteInt64LittleEndian(request.AsSpan(5 + keyBytes.Length), arg);
                BinaryPrimitives.WriteInt32LittleEndian(request.AsSpan(13 + keyBytes.Length), value.Length);
                value.CopyTo(request, 17 + keyBytes.Length);
                socket.SendTimeout = (int)Math.Min(int.MaxValue, replyTimeout.TotalMilliseconds);
                socket.Send(request);
                socket.ReceiveTimeout = (int)Math.Min(int.MaxValue, replyTimeout.TotalMilliseconds);
                Span<byte> head = stackalloc byte[5];
                SocketIO.ReadExactly(socket, head);
                var reply = new byte[BinaryPrimitives.ReadInt32LittleEndian(head[1..])];
                SocketIO.ReadExactly(socket, reply);
                return (head[0], reply);
            }
            catch (Exception e) when (e is SocketException or EndOfStreamException or IOException)
            {
                throw new DistributedException($"the rendezvous store at {Host}:{Port} (hosted by rank 0) stopped answering ({e.Message}): rank 0 has probably exited or crashed; see its output.", e);
            }
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            socket.Dispose();
        }
        server?.Dispose();
    }
}

/// <summary>The store's server: one thread per connection, each request applied to an <see cref="InMemoryStore"/>.</summary>
public sealed class TcpStoreServer : IDisposable
{
    readonly TcpListener listener;
    readonly InMemoryStore state = new();
    readonly List<Socket> clients = [];
    volatile bool stopping;

    public int Port { get; }

    TcpStoreServer(TcpListener listener)
    {
        this.listener = listener;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        new Thread(AcceptLoop) { IsBackground = true, Name = "longctx store accept" }.Start();
    }

    public static TcpStoreServer Start(int port)
    {
        var listener = new TcpListener(IPAddress.Any, port);
        try
        {
            listener.Start(backlog: 1024);
        }
        catch (SocketException e)
        {
            throw new DistributedException($"rank 0 could not host the rendezvous store on port {port}: {e.Message}. Another job may use it: pick another MASTER_PORT (or LONGCTX_STORE_PORT).", e);
        }
        return new TcpStoreServer(listener);
    }

    void AcceptLoop()
    {
        while (!stopping)
        {
            Socket client;
            try { client = listener.AcceptSocket(); }
            catch (Exception) { return; }
            client.NoDelay = true;
            lock (clients) clients.Add(client);
            new Thread(() => Serve(client)) { IsBackground = true, Name = "longctx store client" }.Start();
        }
    }

    void Serve(Socket client)
    {
        try
        {
            Span<byte> magic = stackalloc byte[4];
            SocketIO.ReadExactly(client, magic);
            if (BinaryPrimitives.ReadUInt32LittleEndian(magic) != TcpStore.Magic) return; // not one of ours
            var head = new byte[5];
            var arg = new byte[12];
            while (!stopping)
            {
                SocketIO.ReadExactly(client, head);
                var key = new byte[BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(1))];
                SocketIO.ReadExactly(client, key);
                SocketIO.ReadExactly(client, arg);
                var value = new byte[BinaryPrimitives.ReadInt32LittleEndian(arg.AsSpan(8))];
                SocketIO.ReadExactly(client, value);
                var (status, reply) = Apply((TcpStore.Op)head[0], Encoding.UTF8.GetString(key), BinaryPrimitives.ReadInt64LittleEndian(arg), value);
                var response = new byte[5 + reply.Length];
                response[0] = status;
                BinaryPrimitives.WriteInt32LittleEndian(response.AsSpan(1), reply.Length);
                reply.CopyTo(response, 5);
                client.Send(response);
            }
        }
        catch (Exception) { } // the client went away
        finally
        {
            lock (clients) clients.Remove(client);
            client.Dispose();
        }
    }

    (byte, byte[]) Apply(TcpStore.Op op, string key, long arg, byte[] value)
    {
        switch (op)
        {
            case TcpStore.Op.Set: state.Set(key, value); return (0, []);
            case TcpStore.Op.Get: return state.TryGet(key, TimeSpan.FromMilliseconds(arg)) is byte[] v ? ((byte)0, v) : ((byte)1, []);
            case TcpStore.Op.TryGet: return state.TryGet(key) is byte[] w ? ((byte)0, w) : ((byte)1, []);
            case TcpStore.Op.Add: return (0, BitConverter.GetBytes(state.Add(key, arg)));
            case TcpStore.Op.Delete: return (state.Delete(key) ? (byte)0 : (byte)1, []);
            default: throw new InvalidDataException($"unknown store request {op}");
        }
    }

    public void Dispose()
    {
        stopping = true;
        listener.Stop();
        lock (clients)
            foreach (var c in clients) c.Dispose();
    }
}
