using System.Net.Sockets;

namespace LongContext.Parallel.Distributed;

internal static class SocketIO
{
    /// <summary>Fills <paramref name="buffer"/> from the socket; EndOfStreamException when the peer closed first.</summary>
    public static void ReadExactly(Socket socket, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            int n = socket.Receive(buffer);
            if (n == 0) throw new EndOfStreamException("the connection was closed");
            buffer = buffer[n..];
        }
    }

    public static void WriteAll(Socket socket, ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0) buffer = buffer[socket.Send(buffer)..];
    }
}
