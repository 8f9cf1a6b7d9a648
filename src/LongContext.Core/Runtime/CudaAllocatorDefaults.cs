using System.Runtime.InteropServices;

namespace LongContext.Core.Runtime;

/// <summary>
/// Settings for libtorch's CUDA caching allocator, applied before libtorch loads. By default LongContext turns on
/// expandable segments: without them a 128K-token prefill of an 8B model loses ~3% to allocator churn (an H100
/// measured 11,508 tok/s against 11,859 with them; docs/results/README.md). A user's own
/// <c>PYTORCH_CUDA_ALLOC_CONF</c> or <c>PYTORCH_ALLOC_CONF</c> is left alone (set either, e.g. to
/// <c>expandable_segments:False</c>, to opt out).
/// </summary>
public static partial class CudaAllocatorDefaults
{
    public const string Variable = "PYTORCH_CUDA_ALLOC_CONF";
    public const string DefaultValue = "expandable_segments:True";

    /// <summary>What to set <see cref="Variable"/> to, or null to leave the user's settings alone.</summary>
    public static string? Choose(string? cudaAllocConf, string? allocConf) =>
        string.IsNullOrEmpty(cudaAllocConf) && string.IsNullOrEmpty(allocConf) ? DefaultValue : null;

    /// <summary>The allocator settings libtorch will read (the process's native environment), or null.</summary>
    public static string? Current() => OperatingSystem.IsLinux() ? NativeGet(Variable) ?? NativeGet("PYTORCH_ALLOC_CONF") : null;

    /// <summary>
    /// Writes the default into the native environment, where libtorch reads it (.NET's
    /// Environment.SetEnvironmentVariable does not reach it on Linux). Call before libtorch is loaded.
    /// </summary>
    public static void Apply()
    {
        if (!OperatingSystem.IsLinux()) return;   // expandable segments are a Linux feature of the allocator
        try
        {
            if (Choose(NativeGet(Variable), NativeGet("PYTORCH_ALLOC_CONF")) is string value)
                _ = setenv(Variable, value, 1);   // unset or empty (Choose checked both): safe to write
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: the allocator keeps its own defaults.
        }
    }

    static string? NativeGet(string name) => Marshal.PtrToStringUTF8(getenv(name));

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getenv(string name);

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
