using System.Runtime.InteropServices;

namespace LongContext.Core.Runtime;

/// <summary>Where the process gets libtorch from (design.md §2): the NuGet package next to the app, or an install.</summary>
public sealed record LibTorchLocation(string Kind, string? Directory, string Source)
{
    /// <summary>Environment variable naming a folder with libtorch.so (a PyTorch `torch/lib` or a libtorch `lib`).</summary>
    public const string EnvironmentVariable = "LONGCTX_LIBTORCH";

    static readonly string[] LoadOrderCpu = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
    static readonly string[] LoadOrderCuda = ["libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so"];

    public bool IsBundled => Kind == "nuget";

    /// <summary>Finds libtorch: LONGCTX_LIBTORCH, then the app's own runtimes folder, then `python3 -c "import torch"`.</summary>
    public static LibTorchLocation Find()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            var dir = NormaliseLibDir(env)
                ?? throw new RuntimeSetupException($"{EnvironmentVariable}={env} does not contain libtorch.so (looked in it and in its lib/ folder). Point it at PyTorch's torch/lib or libtorch's lib folder.");
            return new LibTorchLocation("external", dir, EnvironmentVariable);
        }
        var bundled = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native");
        foreach (var candidate in new[] { bundled, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"), AppContext.BaseDirectory })
            if (File.Exists(Path.Combine(candidate, "libtorch_cpu.so")))
                return new LibTorchLocation("nuget", candidate, "NuGet package next to the application");
        var fromPython = FindWithPython();
        if (fromPython is not null)
            return new LibTorchLocation("external", fromPython, "python3 -c \"import torch\"");
        return new LibTorchLocation("none", null, "not found");
    }

    /// <summary>
    /// For an external libtorch, loads its libraries by full path so that TorchSharp's native library resolves
    /// against them without LD_LIBRARY_PATH (glibc reuses an already-loaded library with the same soname).
    /// </summary>
    public void Preload(bool cuda)
    {
        if (Kind != "external" || Directory is null) return;
        foreach (var lib in cuda ? LoadOrderCuda : LoadOrderCpu)
        {
            var path = Path.Combine(Directory, lib);
            if (!File.Exists(path))
            {
                if (cuda && lib.Contains("cuda", StringComparison.Ordinal))
                    throw new RuntimeSetupException($"{path} is missing: the libtorch in {Directory} has no CUDA support. Install a CUDA build of PyTorch or use --device cpu.");
                continue;
            }
            if (!NativeLibrary.TryLoad(path, out _))
                throw new RuntimeSetupException($"cannot load {path}. Run `scripts/longctx.sh` (it sets LD_LIBRARY_PATH) or check that the PyTorch install works: python3 -c \"import torch\".");
        }
    }

    static string? NormaliseLibDir(string dir)
    {
        foreach (var d in new[] { dir, Path.Combine(dir, "lib") })
            if (File.Exists(Path.Combine(d, "libtorch.so"))) return Path.GetFullPath(d);
        return null;
    }

    static string? FindWithPython() =>
        PythonProbe.Run("import torch,os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))") is string dir ? NormaliseLibDir(dir) : null;
}
