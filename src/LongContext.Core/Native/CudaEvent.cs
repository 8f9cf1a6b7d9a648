using System.Diagnostics;
using TorchSharp;

namespace LongContext.Core.Native;

/// <summary>
/// A CUDA event for ordering streams and timing. Without the add-on, events fall back to a host clock after a
/// device synchronisation (correct timings, no overlap), so benchmarks still run.
/// </summary>
public sealed class CudaEvent : IDisposable
{
    IntPtr handle;
    long hostTicks;
    readonly torch.Device? device;

    public CudaEvent(bool enableTiming = true, torch.Device? device = null)
    {
        this.device = device;
        if (NativeAddon.IsAvailable)
            NativeAddon.Check(NativeAddon.lc_event_create(enableTiming ? 1 : 0, out handle), "event_create");
    }

    /// <summary>Records on the given stream (the current one when null).</summary>
    public void Record(CudaStream? stream = null)
    {
        if (handle == IntPtr.Zero)
        {
            if (device is { type: DeviceType.CUDA }) torch.cuda.synchronize(device);
            hostTicks = Stopwatch.GetTimestamp();
            return;
        }
        using var current = stream is null ? CudaStream.Current(device?.index ?? 0) : null;
        NativeAddon.Check(NativeAddon.lc_event_record(handle, (stream ?? current!).Handle), "event_record");
    }

    /// <summary>Makes a stream wait for this event without blocking the host.</summary>
    public void Wait(CudaStream stream)
    {
        if (handle == IntPtr.Zero) return; // fallback runs everything in order already
        NativeAddon.Check(NativeAddon.lc_event_wait(handle, stream.Handle), "event_wait");
    }

    /// <summary>True once the work recorded before this event has finished; never blocks (the fallback is always done).</summary>
    public bool IsCompleted
    {
        get
        {
            if (handle == IntPtr.Zero) return true;
            NativeAddon.Check(NativeAddon.lc_event_query(handle, out int done), "event_query");
            return done != 0;
        }
    }

    public void Synchronize()
    {
        if (handle != IntPtr.Zero) NativeAddon.Check(NativeAddon.lc_event_synchronize(handle), "event_synchronize");
    }

    /// <summary>Milliseconds from this event to a later one (both recorded and completed).</summary>
    public double ElapsedMs(CudaEvent end)
    {
        if (handle == IntPtr.Zero || end.handle == IntPtr.Zero)
            return Stopwatch.GetElapsedTime(hostTicks, end.hostTicks).TotalMilliseconds;
        end.Synchronize();
        NativeAddon.Check(NativeAddon.lc_event_elapsed_ms(handle, end.handle, out float ms), "event_elapsed");
        return ms;
    }

    public void Dispose()
    {
        if (handle != IntPtr.Zero) NativeAddon.lc_event_free(handle);
        handle = IntPtr.Zero;
    }
}
