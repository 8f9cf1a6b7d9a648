using System.Reflection;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LongContext.Core.Native;

/// <summary>
/// The optional C++ add-on (native/, liblongctx_native.so): fused attention with log-sum-exp, CUDA streams,
/// events, graphs and allocator statistics. Everything that uses it has a pure-TorchSharp fallback; this class
/// says whether it loaded and, if not, why.
/// </summary>
public static partial class NativeAddon
{
    public const string LibraryName = "longctx_native";
    public const string EnvironmentVariable = "LONGCTX_NATIVE";
    const int ExpectedAbi = 6;   // native/src/exports.cpp lc_abi_version

    static readonly Lazy<(bool ok, string status, string? path)> State = new(Probe);

    static NativeAddon()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeAddon).Assembly, Resolve);
    }

    public static bool IsAvailable => State.Value.ok;
    /// <summary>"loaded from PATH (built against torch X)" or why it is absent.</summary>
    public static string Status => State.Value.status;
    public static string? LoadedPath => State.Value.path;

    /// <summary>Throws a clear error when the add-on is needed but absent.</summary>
    public static void Require(string what)
    {
        if (!IsAvailable)
            throw new RuntimeSetupException($"{what} needs the native add-on, which is not loaded: {Status}. Build it with scripts/build-native.sh on a machine with PyTorch, or set {EnvironmentVariable}=<path to liblongctx_native.so>.");
    }

    /// <summary>Where the add-on is looked for, in order.</summary>
    public static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
            yield return Directory.Exists(env) ? Path.Combine(env, "liblongctx_native.so") : env;
        yield return Path.Combine(AppContext.BaseDirectory, "liblongctx_native.so");
        yield return Path.Combine(AppContext.BaseDirectory, "native", "liblongctx_native.so");
        // A source checkout: walk up to the repository's native/build.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "native", "build", "liblongctx_native.so");
            if (File.Exists(p)) { yield return p; break; }
        }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != LibraryName) return IntPtr.Zero;
        var loaded = State.Value;
        return loaded.path is not null && NativeLibrary.TryLoad(loaded.path, out var h) ? h : IntPtr.Zero;
    }

    static (bool, string, string?) Probe()
    {
        if (!OperatingSystem.IsLinux()) return (false, "the add-on is built for Linux only", null);
        string? lastError = null;
        foreach (var candidate in Candidates())
        {
            if (!File.Exists(candidate)) continue;
            // libtorch must be loaded first: the add-on links against it.
            _ = TorchSharp.torch.get_default_dtype();
            if (!NativeLibrary.TryLoad(candidate, out var handle))
            {
                lastError = $"{candidate} exists but does not load (built against another libtorch? it must match the one in use)";
                continue;
            }
            if (!NativeLibrary.TryGetExport(handle, "lc_abi_version", out var fn))
            {
                lastError = $"{candidate} is not a LongContext add-on (no lc_abi_version)";
                continue;
            }
            unsafe
            {
                int abi = ((delegate* unmanaged<int>)fn)();
                if (abi != ExpectedAbi)
                {
                    lastError = $"{candidate} has ABI {abi}, this build expects {ExpectedAbi}: rebuild it with scripts/build-native.sh";
                    continue;
                }
            }
            string torchVersion = Marshal.PtrToStringUTF8(lc_torch_version_raw(handle)) ?? "?";
            return (true, $"loaded from {candidate} (built against torch {torchVersion})", candidate);
        }
        return (false, lastError ?? "liblongctx_native.so not found (looked in " + string.Join(", ", Candidates().Distinct()) + ")", null);
    }

    static unsafe IntPtr lc_torch_version_raw(IntPtr handle) =>
        NativeLibrary.TryGetExport(handle, "lc_torch_version", out var fn) ? ((delegate* unmanaged<IntPtr>)fn)() : IntPtr.Zero;

    /// <summary>Throws with the add-on's message when an export returned non-zero.</summary>
    internal static void Check(int rc, string what)
    {
        if (rc != 0)
            throw new InvalidOperationException($"{what} failed in the native add-on: {Marshal.PtrToStringUTF8(lc_last_error())}");
    }

    internal static Tensor Adopt(IntPtr handle) => Tensor.UnsafeCreateTensor(handle);

    /// <summary>The address of a tensor's first element (its storage offset included), for native libraries such as NCCL.</summary>
    public static IntPtr DataPointer(Tensor t)
    {
        Require("raw tensor pointers");
        return lc_tensor_data_ptr(t.Handle);
    }

    [LibraryImport(LibraryName)] internal static partial IntPtr lc_last_error();
    [LibraryImport(LibraryName)] internal static partial IntPtr lc_tensor_data_ptr(IntPtr tensor);

    [LibraryImport(LibraryName)]
    internal static partial int lc_attention_forward(IntPtr q, IntPtr k, IntPtr v, int causal, double scale, int kernel,
        out IntPtr output, out IntPtr lse, out int usedKernel);
    [LibraryImport(LibraryName)]
    internal static partial int lc_attention_backward(IntPtr gradOut, IntPtr q, IntPtr k, IntPtr v, IntPtr output, IntPtr lse,
        int causal, double scale, int kernel, out IntPtr dq, out IntPtr dk, out IntPtr dv);

    [LibraryImport(LibraryName)] internal static partial int lc_has_cuda_kernels();
    [LibraryImport(LibraryName)]
    internal static partial int lc_decode_attention(IntPtr q, IntPtr k, IntPtr v, IntPtr mask, double scale, out IntPtr output);

    [LibraryImport(LibraryName)] internal static partial int lc_fp8_e4m3_encode(IntPtr x, out IntPtr codes);
    [LibraryImport(LibraryName)] internal static partial int lc_fp8_e4m3_decode(IntPtr codes, int dtype, out IntPtr values);

    /// <summary>The add-on was built with its own CUDA kernels (nvcc found at build time).</summary>
    public static bool HasCudaKernels => CudaKernels.Value;

    static readonly Lazy<bool> CudaKernels = new(() => IsAvailable && lc_has_cuda_kernels() == 1);

    [LibraryImport(LibraryName)] internal static partial int lc_device_count(out int count);
    [LibraryImport(LibraryName)] internal static partial int lc_set_device(int device);
    [LibraryImport(LibraryName)] internal static partial int lc_get_device(out int device);
    [LibraryImport(LibraryName)] internal static partial int lc_device_synchronize(int device);
    [LibraryImport(LibraryName)] internal static unsafe partial int lc_device_properties(int device, byte* name, int nameLen, long* numbers);

    [LibraryImport(LibraryName)] internal static partial int lc_stream_create(int device, int highPriority, out IntPtr stream);
    [LibraryImport(LibraryName)] internal static partial int lc_stream_current(int device, out IntPtr stream);
    [LibraryImport(LibraryName)] internal static partial int lc_stream_set_current(IntPtr stream);
    [LibraryImport(LibraryName)] internal static partial int lc_stream_synchronize(IntPtr stream);
    [LibraryImport(LibraryName)] internal static partial int lc_stream_query(IntPtr stream, out int done);
    [LibraryImport(LibraryName)] internal static partial void lc_stream_free(IntPtr stream);
    [LibraryImport(LibraryName)] internal static partial int lc_stream_raw(IntPtr stream, out IntPtr raw);
    [LibraryImport(LibraryName)] internal static partial int lc_record_stream(IntPtr tensor, IntPtr stream);

    [LibraryImport(LibraryName)] internal static partial int lc_event_create(int enableTiming, out IntPtr ev);
    [LibraryImport(LibraryName)] internal static partial int lc_event_record(IntPtr ev, IntPtr stream);
    [LibraryImport(LibraryName)] internal static partial int lc_event_wait(IntPtr ev, IntPtr stream);
    [LibraryImport(LibraryName)] internal static partial int lc_event_synchronize(IntPtr ev);
    [LibraryImport(LibraryName)] internal static partial int lc_event_query(IntPtr ev, out int done);
    [LibraryImport(LibraryName)] internal static partial int lc_event_elapsed_ms(IntPtr start, IntPtr end, out float ms);
    [LibraryImport(LibraryName)] internal static partial void lc_event_free(IntPtr ev);

    [LibraryImport(LibraryName)] internal static unsafe partial int lc_memory_stats(int device, long* stats);
    [LibraryImport(LibraryName)] internal static partial int lc_reset_peak_memory(int device);
    [LibraryImport(LibraryName)] internal static partial int lc_empty_cache();
    [LibraryImport(LibraryName)] internal static partial int lc_mem_get_info(int device, out long free, out long total);

    [LibraryImport(LibraryName)]
    internal static unsafe partial int lc_fused_adamw(IntPtr* masters, IntPtr* grads, IntPtr* expAvgs, IntPtr* expAvgSqs, IntPtr* weights, int n,
        double lr, double beta1, double beta2, double weightDecay, double eps, double step);
    [LibraryImport(LibraryName)] internal static partial int lc_rms_norm(IntPtr x, IntPtr weight, double eps, out IntPtr output);

    [LibraryImport(LibraryName)] internal static partial int lc_graph_create(out IntPtr graph);
    [LibraryImport(LibraryName)] internal static partial int lc_graph_capture_begin(IntPtr graph);
    [LibraryImport(LibraryName)] internal static partial int lc_graph_capture_end(IntPtr graph);
    [LibraryImport(LibraryName)] internal static partial int lc_graph_replay(IntPtr graph);
    [LibraryImport(LibraryName)] internal static partial void lc_graph_free(IntPtr graph);
}
