using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using LongContext.Core.Attention;
using LongContext.Core.Native;
using LongContext.Core.Runtime;
using LongContext.Parallel.Distributed.Rendezvous;
using LongContext.Parallel.Launch;
using LongContext.Parallel.Nccl;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Cli.Commands;

/// <summary>`longctx doctor`: what this machine can do (libtorch, CUDA, the add-on, NCCL).</summary>
public static class DoctorCommand
{
    public sealed record DeviceReport(int Index, string Name, long TotalBytes, string ComputeCapability, int Multiprocessors);
    public sealed record FeatureReport(string Name, bool Works, string Detail);
    public sealed record Report(
        string DotnetVersion, string Os, string TorchSharpVersion, string LibtorchKind, string? LibtorchDirectory,
        string LibtorchSource, string? LibtorchVersion, bool CudaAvailable, bool CudnnAvailable, int CudaDeviceCount,
        IReadOnlyList<DeviceReport> Devices, bool NativeAddon, string NativeAddonStatus, IReadOnlyList<FeatureReport> NativeFeatures,
        bool Nccl, string NcclStatus, string? NcclVersion, string? CudaAllocConf,
        int DriverGpuCount, string? GpuTopology, IReadOnlyList<string> Multicast);

    public static Command Create()
    {
        var cmd = new Command("doctor", "Report .NET/TorchSharp/libtorch versions, CUDA devices, the native add-on, NCCL, GPU topology and the multicast switches.");
        cmd.SetHandler((parse, _) =>
        {
            var report = Collect();
            if (parse.GetValue(CliCommon.Json)) CliCommon.WriteJson(report);
            else Render(report, CliCommon.Console);
            return 0;
        });
        return cmd;
    }

    public static Report Collect()
    {
        TorchRuntime.Initialize(wantCuda: true);
        var loc = TorchRuntime.Location!;
        bool cuda = TorchRuntime.CudaAvailable;
        int count = cuda ? CudaDevice.Count() : 0;
        var devices = new List<DeviceReport>();
        for (int i = 0; i < count; i++)
        {
            var p = CudaDevice.Properties(i);
            devices.Add(p is null
                ? new DeviceReport(i, "(name needs the add-on)", 0, "?", 0)
                : new DeviceReport(i, p.Name, p.TotalBytes, $"{p.Major}.{p.Minor}", p.Multiprocessors));
        }
        return new Report(
            RuntimeInformation.FrameworkDescription, RuntimeInformation.OSDescription,
            typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "?",
            loc.Kind, loc.Directory, loc.Source, LibtorchVersion(loc), cuda, cuda && torch.cuda.is_cudnn_available(), count, devices,
            NativeAddon.IsAvailable, NativeAddon.Status, cuda ? ProbeFeatures() : [],
            NcclLibrary.IsAvailable, NcclLibrary.Status, NcclLibrary.Version(), CudaAllocatorDefaults.Current(),
            NvidiaGpus.Count(), NvidiaGpus.Topology(), [.. MulticastDefaults.Describe()]);
    }

    static string? LibtorchVersion(LibTorchLocation loc)
    {
        if (loc.IsBundled)
            return typeof(DoctorCommand).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "LibTorchPackageVersion")?.Value + " (NuGet)";
        // PyTorch installs carry torch/version.py next to torch/lib.
        var versionPy = loc.Directory is null ? null : Path.Combine(loc.Directory, "..", "version.py");
        if (versionPy is null || !File.Exists(versionPy)) return null;
        var line = File.ReadLines(versionPy).FirstOrDefault(l => l.StartsWith("__version__", StringComparison.Ordinal));
        return line?.Split('=', 2)[1].Trim().Trim('\'', '"');
    }

    /// <summary>Runs each add-on function once on device 0 and reports whether it worked.</summary>
    static List<FeatureReport> ProbeFeatures()
    {
        var features = new List<FeatureReport>();
        if (!NativeAddon.IsAvailable) return features;
        void Probe(string name, Func<string> run)
        {
            try { features.Add(new FeatureReport(name, true, run())); }
            catch (Exception e) { features.Add(new FeatureReport(name, false, e.Message)); }
        }
        Probe("attention_forward_lse", () =>
        {
            using var scope = NewDisposeScope();
            var q = randn(new long[] { 1, 4, 128, 64 }, dtype: ScalarType.BFloat16, device: CUDA);
            var k = randn(new long[] { 1, 2, 128, 64 }, dtype: ScalarType.BFloat16, device: CUDA);
            var r = FusedAttention.Forward(q, k, k, causal: true);
            return $"kernel {FusedAttention.LastKernel}, lse {string.Join('x', r.Lse.shape)}";
        });
        Probe("attention_backward", () =>
        {
            using var scope = NewDisposeScope();
            var q = randn(new long[] { 1, 4, 128, 64 }, dtype: ScalarType.BFloat16, device: CUDA);
            var k = randn(new long[] { 1, 2, 128, 64 }, dtype: ScalarType.BFloat16, device: CUDA);
            var r = FusedAttention.Forward(q, k, k, causal: true);
            var (dq, dk, _) = FusedAttention.Backward(q, q, k, k, r.Output, r.Lse, causal: true);
            return $"dq {string.Join('x', dq.shape)}, dk {string.Join('x', dk.shape)}";
        });
        Probe("cuda_kernels", () => NativeAddon.HasCudaKernels
            ? "built (split-KV decode attention)"
            : throw new InvalidOperationException("not built: nvcc was not found when the add-on was built (decode uses ATen matmuls)"));
        Probe("streams_events", () =>
        {
            using var s = CudaStream.Create();
            using var a = new CudaEvent();
            using var b = new CudaEvent();
            a.Record(s);
            b.Record(s);
            return $"elapsed {a.ElapsedMs(b):F4} ms";
        });
        Probe("memory_stats", () =>
        {
            var st = CudaMemory.Stats()!;
            var mem = CudaMemory.DeviceMemory()!.Value;
            return $"allocated {st.Allocated >> 20} MiB, reserved {st.Reserved >> 20} MiB, free {mem.Free >> 30} of {mem.Total >> 30} GiB";
        });
        Probe("set_device", () =>
        {
            CudaDevice.Set(0);
            return $"current {CudaDevice.Current()}";
        });
        Probe("cuda_graphs", () =>
        {
            using var scope = NewDisposeScope();
            var x = ones(new long[] { 1024 }, device: CUDA);
            var y = zeros(new long[] { 1024 }, device: CUDA);
            using var g = new CudaGraph();
            g.Capture(() => y.copy_(x * 2 + 1));
            x.fill_(3);
            g.Replay();
            CudaDevice.Synchronize();
            float v = y[0].item<float>();
            if (v != 7f) throw new InvalidOperationException($"replay gave {v}, expected 7");
            return "capture+replay ok";
        });
        return features;
    }

    static void Render(Report r, IAnsiConsole console)
    {
        var t = new Table().AddColumn("Item").AddColumn("Value").Border(TableBorder.Rounded);
        t.AddRow(".NET", Markup.Escape(r.DotnetVersion));
        t.AddRow("OS", Markup.Escape(r.Os));
        t.AddRow("TorchSharp", Markup.Escape(r.TorchSharpVersion));
        t.AddRow("libtorch", Markup.Escape($"{r.LibtorchKind} {r.LibtorchVersion} — {r.LibtorchSource}{(r.LibtorchDirectory is null ? "" : " (" + r.LibtorchDirectory + ")")}"));
        t.AddRow("CUDA", r.CudaAvailable ? $"[green]yes[/], {r.CudaDeviceCount} device(s), cuDNN {(r.CudnnAvailable ? "yes" : "no")}" : "[yellow]no[/]");
        foreach (var d in r.Devices)
            t.AddRow($"  cuda:{d.Index}", Markup.Escape($"{d.Name}, {d.TotalBytes / (1L << 30)} GiB, sm_{d.ComputeCapability.Replace(".", "")}, {d.Multiprocessors} SMs"));
        t.AddRow("native add-on", (r.NativeAddon ? "[green]loaded[/] " : "[yellow]absent[/] ") + Markup.Escape(r.NativeAddonStatus));
        foreach (var f in r.NativeFeatures)
            t.AddRow($"  {f.Name}", (f.Works ? "[green]ok[/] " : "[red]fails[/] ") + Markup.Escape(f.Detail));
        t.AddRow("NCCL", (r.Nccl ? $"[green]{r.NcclVersion}[/] " : "[yellow]absent[/] ") + Markup.Escape(r.NcclStatus));
        t.AddRow("GPUs (driver)", r.DriverGpuCount > 0 ? $"{r.DriverGpuCount} (NVML; `longctx launch` gives each rank one)" : "none found (no NVIDIA driver / NVML)");
        if (r.GpuTopology is not null) t.AddRow("GPU topology", Markup.Escape(r.GpuTopology));
        t.AddRow("multicast (NVLS)", Markup.Escape(string.Join("; ", r.Multicast)));
        t.AddRow("CUDA allocator", Markup.Escape(r.CudaAllocConf ?? "(libtorch defaults)"));
        console.Write(t);
    }
}
