using System.Text;

namespace LongContext.Parallel.Distributed.Store;

/// <summary>
/// A small key-value store the ranks share for rendezvous (torch's c10d Store): addresses, NCCL's unique id,
/// heartbeats. Rank 0 hosts the <see cref="TcpStore"/>; <see cref="InMemoryStore"/> serves threads of one process.
/// </summary>
public interface IStore : IDisposable
{
    void Set(string key, byte[] value);

    /// <summary>The value of <paramref name="key"/>, waiting until some rank sets it; throws <see cref="DistributedException"/> after the timeout.</summary>
    byte[] Get(string key, TimeSpan timeout);

    /// <summary>The value if the key exists now, else null.</summary>
    byte[]? TryGet(string key);

    /// <summary>Adds <paramref name="delta"/> to a counter (created at 0) and returns the new value.</summary>
    long Add(string key, long delta);

    bool Delete(string key);
}

public static class StoreExtensions
{
    public static void SetString(this IStore store, string key, string value) => store.Set(key, Encoding.UTF8.GetBytes(value));

    public static string GetString(this IStore store, string key, TimeSpan timeout) => Encoding.UTF8.GetString(store.Get(key, timeout));

    public static string? TryGetString(this IStore store, string key) => store.TryGet(key) is byte[] v ? Encoding.UTF8.GetString(v) : null;

    /// <summary>
    /// Blocks until <paramref name="count"/> participants have called it with the same key (a store-level barrier
    /// for rendezvous steps that run before any process group exists).
    /// </summary>
    public static void Rendezvous(this IStore store, string key, int count, TimeSpan timeout, string what)
    {
        long arrived = store.Add(key + "/arrived", 1);
        if (arrived == count) store.Set(key + "/done", [1]);
        try { store.Get(key + "/done", timeout); }
        catch (DistributedException e)
        {
            long now = store.Add(key + "/arrived", 0);
            throw new DistributedException($"{what}: only {now} of {count} ranks arrived within {timeout.TotalSeconds:F0} s (the others did not start, crashed, or were given another WORLD_SIZE)", e);
        }
    }
}
