using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LongContext.Parallel.Launch;

/// <summary>
/// What the launcher and doctor need to know about the GPUs without loading libtorch: the count (NVML,
/// libnvidia-ml.so.1, which the driver installs) and the topology matrix (`nvidia-smi topo -m`).
/// </summary>
public static unsafe class NvidiaGpus
{
    /// <summary>GPUs the driver reports (ignores CUDA_VISIBLE_DEVICES); 0 without a driver.</summary>
    public static int Count()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libnvidia-ml.so.1", out var nvml)) return 0;
        try
        {
            if (!NativeLibrary.TryGetExport(nvml, "nvmlInit_v2", out var init) || !NativeLibrary.TryGetExport(nvml, "nvmlDeviceGetCount_v2", out var count)
                || !NativeLibrary.TryGetExport(nvml, "nvmlShutdown", out var shutdown))
                return 0;
            if (((delegate* unmanaged<int>)init)() != 0) return 0;
            uint n = 0;
            int rc = ((delegate* unmanaged<uint*, int>)count)(&n);
            ((delegate* unmanaged<int>)shutdown)();
            return rc == 0 ? (int)n : 0;
        }
        finally { NativeLibrary.Free(nvml); }
    }

    /// <summary>The devices a child may be given: CUDA_VISIBLE_DEVICES's entries when set, else 0..Count()-1.</summary>
    public static IReadOnlyList<string> Visible()
    {
        var env = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
        if (env is not null) return [.. env.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        return [.. Enumerable.Range(0, Count()).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>`nvidia-smi topo -m` (links between GPUs: NV# = NVLink, PIX/PXB/PHB/SYS = PCIe paths), or null.</summary>
    public static string? Topology()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("nvidia-smi", ["topo", "-m"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (p is null) return null;
            var text = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(10_000)) { p.Kill(); return null; }
            return p.ExitCode == 0 && text.Trim().Length > 0 ? text.TrimEnd() : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; } // no nvidia-smi
    }
}
