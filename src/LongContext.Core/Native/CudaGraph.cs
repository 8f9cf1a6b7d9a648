namespace LongContext.Core.Native;

/// <summary>
/// Captures a sequence of GPU work once and replays it with one launch (ATen's CUDAGraph). Inputs and outputs
/// must live in tensors allocated before capture and updated in place. Requires the add-on.
/// </summary>
public sealed class CudaGraph : IDisposable
{
    IntPtr handle;

    public CudaGraph()
    {
        NativeAddon.Require("CUDA graphs");
        NativeAddon.Check(NativeAddon.lc_graph_create(out handle), "graph_create");
    }

    /// <summary>Runs <paramref name="work"/> under capture (nothing executes); replay it with <see cref="Replay"/>.</summary>
    public void Capture(Action work)
    {
        NativeAddon.Check(NativeAddon.lc_graph_capture_begin(handle), "graph_capture_begin");
        try { work(); }
        finally { NativeAddon.Check(NativeAddon.lc_graph_capture_end(handle), "graph_capture_end"); }
    }

    public void Replay() => NativeAddon.Check(NativeAddon.lc_graph_replay(handle), "graph_replay");

    public void Dispose()
    {
        if (handle != IntPtr.Zero) NativeAddon.lc_graph_free(handle);
        handle = IntPtr.Zero;
    }
}
