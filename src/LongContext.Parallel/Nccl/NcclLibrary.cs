using LongContext.Core.Runtime;
using System.Runtime.InteropServices;

namespace LongContext.Parallel.Nccl;

/// <summary>
/// Finds and loads libnccl.so.2 (NCCL) for multi-GPU work: LONGCTX_NCCL, then the copy PyTorch ships
/// (python3 -c "import nvidia.nccl"), then the system loader path.
/// </summary>
public static class NcclLibrary
{
    public const string EnvironmentVariable = "LONGCTX_NCCL";

    static readonly Lazy<(IntPtr handle, string? path, string status)> State = new(Load);

    public static bool IsAvailable => State.Value.handle != IntPtr.Zero;
    internal static IntPtr Handle => State.Value.handle;
    public static string? Path => State.Value.path;
    public static string Status => State.Value.status;

    /// <summary>NCCL's version as "2.28.3", or null when not loaded.</summary>
    public static unsafe string? Version()
    {
        if (!IsAvailable || !NativeLibrary.TryGetExport(State.Value.handle, "ncclGetVersion", out var fn)) return null;
        int code = 0;
        if (((delegate* unmanaged<int*, int>)fn)(&code) != 0) return null;
        // Since 2.9 the code is major*10000 + minor*100 + patch.
        return code >= 10000 ? $"{code / 10000}.{code / 100 % 100}.{code % 100}" : $"{code / 1000}.{code / 100 % 10}.{code % 100}";
    }

    static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) yield return Directory.Exists(env) ? System.IO.Path.Combine(env, "libnccl.so.2") : env;
        var fromPython = FromPython();
        if (fromPython is not null) yield return fromPython;
        yield return "libnccl.so.2";
    }

    static (IntPtr, string?, string) Load()
    {
        if (!OperatingSystem.IsLinux()) return (IntPtr.Zero, null, "NCCL is Linux-only");
        foreach (var candidate in Candidates())
            if (NativeLibrary.TryLoad(candidate, out var h))
                return (h, candidate, "loaded " + candidate);
        return (IntPtr.Zero, null, "libnccl.so.2 not found (set LONGCTX_NCCL, or install PyTorch with CUDA, which ships nvidia-nccl)");
    }

    static string? FromPython() =>
        PythonProbe.Run("import nvidia.nccl,os; print(os.path.join(list(nvidia.nccl.__path__)[0], 'lib', 'libnccl.so.2'))") is string p && File.Exists(p) ? p : null;
}
