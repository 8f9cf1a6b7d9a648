using System.Runtime.InteropServices;

namespace LongContext.Parallel.Distributed.Rendezvous;

/// <summary>
/// NVLink SHARP / multicast switches that stay off unless the user set them: NVLS has hung or failed to allocate on
/// shared multi-GPU hosts, and the gain for ring attention's point-to-point traffic is nil. The launcher puts them in
/// every child's environment; <see cref="DistributedContext"/> sets them in-process (torchrun, srun) before NCCL loads.
/// </summary>
public static partial class MulticastDefaults
{
    public static readonly IReadOnlyList<(string Name, string Value)> Variables =
        [("NCCL_NVLS_ENABLE", "0"), ("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1"), ("NVSHMEM_DISABLE_NVLS", "1")];

    /// <summary>Sets each unset variable in this process, where native libraries (getenv) see it too.</summary>
    public static void Apply()
    {
        foreach (var (name, value) in Variables)
        {
            if (Environment.GetEnvironmentVariable(name) is not null) continue;
            Environment.SetEnvironmentVariable(name, value);
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) _ = setenv(name, value, 0);
        }
    }

    /// <summary>"NCCL_NVLS_ENABLE=0 (default)" or "... (set by the user)", for doctor.</summary>
    public static IEnumerable<string> Describe() => Variables.Select(v =>
        Environment.GetEnvironmentVariable(v.Name) is string set ? $"{v.Name}={set}" : $"{v.Name} unset (longctx sets {v.Value} for NCCL runs)");

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
