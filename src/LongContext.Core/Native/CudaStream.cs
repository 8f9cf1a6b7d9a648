using static TorchSharp.torch;

namespace LongContext.Core.Native;

/// <summary>
/// A CUDA stream from PyTorch's pool. TorchSharp queues everything on the current stream, so work is moved to
/// another stream by making it current (<see cref="MakeCurrent"/>, an RAII guard). Used to overlap ring-attention
/// communication with compute. Requires the add-on.
/// </summary>
public sealed class CudaStream : IDisposable
{
    internal IntPtr Handle { get; private set; }

    CudaStream(IntPtr handle) => Handle = handle;

    public static CudaStream Create(int device = 0, bool highPriority = false)
    {
        NativeAddon.Require("CUDA streams");
        NativeAddon.Check(NativeAddon.lc_stream_create(device, highPriority ? 1 : 0, out var h), "stream_create");
        return new CudaStream(h);
    }

    public static CudaStream Current(int device = 0)
    {
        NativeAddon.Require("CUDA streams");
        NativeAddon.Check(NativeAddon.lc_stream_current(device, out var h), "stream_current");
        return new CudaStream(h);
    }

    /// <summary>Makes this stream current until the returned guard is disposed, then restores the previous one.</summary>
    public IDisposable MakeCurrent()
    {
        var previous = Current();
        NativeAddon.Check(NativeAddon.lc_stream_set_current(Handle), "stream_set_current");
        return new Guard(previous);
    }

    /// <summary>The underlying cudaStream_t, for native libraries that enqueue work themselves (NCCL).</summary>
    public IntPtr RawHandle
    {
        get
        {
            NativeAddon.Check(NativeAddon.lc_stream_raw(Handle, out var raw), "stream_raw");
            return raw;
        }
    }

    public void Synchronize() => NativeAddon.Check(NativeAddon.lc_stream_synchronize(Handle), "stream_synchronize");

    public bool IsIdle
    {
        get
        {
            NativeAddon.Check(NativeAddon.lc_stream_query(Handle, out int done), "stream_query");
            return done != 0;
        }
    }

    /// <summary>Marks a tensor as used on this stream so the caching allocator does not reuse it too early.</summary>
    public void RecordTensor(Tensor t) => NativeAddon.Check(NativeAddon.lc_record_stream(t.Handle, Handle), "record_stream");

    public void Dispose()
    {
        if (Handle != IntPtr.Zero) NativeAddon.lc_stream_free(Handle);
        Handle = IntPtr.Zero;
    }

    sealed class Guard(CudaStream previous) : IDisposable
    {
        bool disposed;
        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            NativeAddon.Check(NativeAddon.lc_stream_set_current(previous.Handle), "stream_set_current");
            previous.Dispose();
        }
    }
}
