using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Runtime;

/// <summary>
/// Process-wide libtorch setup. Call <see cref="Initialize"/> before the first tensor: it finds libtorch, loads
/// the CUDA backend when asked, and resolves "auto" devices. Safe to call more than once.
/// </summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool cudaRequested;

    public static LibTorchLocation? Location { get; private set; }
    public static bool CudaAvailable { get; private set; }

    /// <summary>Initialises libtorch; with wantCuda, the CUDA backend too (no error if CUDA is absent).</summary>
    public static void Initialize(bool wantCuda)
    {
        lock (Gate)
        {
            if (Location is null)
            {
                CudaAllocatorDefaults.Apply();   // before libtorch loads: its allocator reads the settings once
                Location = LibTorchLocation.Find();
                if (Location.Kind == "none")
                    throw new RuntimeSetupException("no libtorch found: build with the default CPU package (LongContextTorch=cpu), install PyTorch (python3 -c \"import torch\"), or set LONGCTX_LIBTORCH=<folder with libtorch.so>.");
                Location.Preload(cuda: wantCuda && !Location.IsBundled);
            }
            if (wantCuda && !cudaRequested)
            {
                cudaRequested = true;
                try
                {
                    torch.InitializeDeviceType(DeviceType.CUDA);
                    CudaAvailable = torch.cuda.is_available();
                }
                catch (Exception)
                {
                    CudaAvailable = false; // a CPU-only libtorch: callers report it
                }
            }
        }
    }

    /// <summary>Turns "cpu", "cuda", "cuda:1" or "auto" into a device, initialising what it needs.</summary>
    public static Device ResolveDevice(string spec)
    {
        spec = spec.Trim().ToLowerInvariant();
        bool wantsCuda = spec == "auto" || spec.StartsWith("cuda", StringComparison.Ordinal);
        Initialize(wantsCuda);
        if (spec == "auto") return CudaAvailable ? torch.CUDA : torch.CPU;
        if (spec == "cpu") return torch.CPU;
        if (spec.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!CudaAvailable)
                throw new RuntimeSetupException($"--device {spec}: CUDA is not available (libtorch from {Location?.Source}). Use a CUDA PyTorch install (LONGCTX_LIBTORCH or python3) or --device cpu; `longctx doctor` shows what was found.");
            return torch.device(spec);
        }
        throw new RuntimeSetupException($"--device {spec}: expected cpu, cuda, cuda:N or auto.");
    }

    public static ScalarType ParseDtype(string name) => name.Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" or "float" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" or "f16" or "half" => ScalarType.Float16,
        _ => throw new ConfigException($"dtype '{name}': expected float32, bfloat16 or float16."),
    };

    /// <summary>The named dtype, or the device's default when none is named: bfloat16 on CUDA, float32 on the CPU.</summary>
    public static ScalarType ResolveDtype(string? name, Device device) =>
        name is null ? (device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32) : ParseDtype(name);
}
