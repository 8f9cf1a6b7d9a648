namespace LongContext.Core.Native;

/// <summary>Caching-allocator statistics in bytes.</summary>
public sealed record MemoryStats(long Allocated, long Reserved, long PeakAllocated, long PeakReserved);

/// <summary>GPU memory statistics and cache control (add-on); without it, statistics are unavailable (null).</summary>
public static class CudaMemory
{
    public static unsafe MemoryStats? Stats(int device = 0)
    {
        if (!NativeAddon.IsAvailable) return null;
        long* s = stackalloc long[4];
        NativeAddon.Check(NativeAddon.lc_memory_stats(device, s), "memory_stats");
        return new MemoryStats(s[0], s[1], s[2], s[3]);
    }

    public static void ResetPeak(int device = 0)
    {
        if (NativeAddon.IsAvailable) NativeAddon.Check(NativeAddon.lc_reset_peak_memory(device), "reset_peak");
    }

    /// <summary>Returns cached, unused blocks to the driver (so other processes or nvidia-smi see them free).</summary>
    public static void EmptyCache()
    {
        if (NativeAddon.IsAvailable) NativeAddon.Check(NativeAddon.lc_empty_cache(), "empty_cache");
    }

    /// <summary>(free, total) bytes as the driver sees them; null without the add-on.</summary>
    public static (long Free, long Total)? DeviceMemory(int device = 0)
    {
        if (!NativeAddon.IsAvailable) return null;
        NativeAddon.Check(NativeAddon.lc_mem_get_info(device, out long free, out long total), "mem_get_info");
        return (free, total);
    }
}
