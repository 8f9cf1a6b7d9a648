namespace LongContext.Parallel.Distributed.Store;

/// <summary>A thread-safe <see cref="IStore"/> in one process; also the state behind <see cref="TcpStore"/>'s server.</summary>
public sealed class InMemoryStore : IStore
{
    readonly object gate = new();
    readonly Dictionary<string, byte[]> values = [];

    public void Set(string key, byte[] value)
    {
        lock (gate)
        {
            values[key] = value;
            Monitor.PulseAll(gate);
        }
    }

    public byte[] Get(string key, TimeSpan timeout) =>
        TryGet(key, timeout) ?? throw new DistributedException($"store key '{key}' was not set within {timeout.TotalSeconds:F1} s");

    /// <summary>The value, waiting up to <paramref name="timeout"/> for it; null when it did not appear.</summary>
    public byte[]? TryGet(string key, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (gate)
        {
            while (true)
            {
                if (values.TryGetValue(key, out var v)) return v;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return null;
                Monitor.Wait(gate, left);
            }
        }
    }

    public byte[]? TryGet(string key)
    {
        lock (gate) return values.TryGetValue(key, out var v) ? v : null;
    }

    public long Add(string key, long delta)
    {
        lock (gate)
        {
            long now = (values.TryGetValue(key, out var v) ? BitConverter.ToInt64(v) : 0) + delta;
            values[key] = BitConverter.GetBytes(now);
            Monitor.PulseAll(gate);
            return now;
        }
    }

    public bool Delete(string key)
    {
        lock (gate) return values.Remove(key);
    }

    public void Dispose() { }
}
