
namespace LongContext.Training.Plan;

/// <summary>
/// One GPU model: total memory (as nvidia-smi reports it) and peak dense bf16 tensor-core FLOP/s from the vendor's
/// datasheet (no sparsity). The planner's time estimates are these peaks × the chosen MFU.
/// </summary>
public sealed record GpuType(string Name, long MemoryBytes, double PeakBf16Flops, string Source)
{
    private const long MiB = 1L << 20;

    /// <summary>The built-in table; names are matched case-insensitively, aliases in <see cref="Get"/>.</summary>
    public static IReadOnlyList<GpuType> Known { get; } =
    [
        new("H100", 81559 * MiB, 989.4e12, "H100 SXM5 80GB: 989 TFLOP/s bf16 dense (NVIDIA datasheet)"),
        new("H100-PCIE", 81559 * MiB, 756.5e12, "H100 PCIe 80GB: 756 TFLOP/s bf16 dense (NVIDIA datasheet)"),
        new("H200", 143771 * MiB, 989.4e12, "H200 SXM 141GB: 989 TFLOP/s bf16 dense (NVIDIA datasheet)"),
        new("A100-80G", 81920 * MiB, 312e12, "A100 SXM4 80GB: 312 TFLOP/s bf16 dense (NVIDIA datasheet)"),
        new("A100-40G", 40960 * MiB, 312e12, "A100 SXM4 40GB: 312 TFLOP/s bf16 dense (NVIDIA datasheet)"),
        new("L40S", 46068 * MiB, 362.05e12, "L40S 48GB: 362 TFLOP/s bf16 dense (NVIDIA datasheet)"),
    ];

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["H100-SXM"] = "H100", ["H100-80G"] = "H100", ["H100-SXM5"] = "H100",
        ["H200-141G"] = "H200", ["A100"] = "A100-80G", ["A100-SXM4-80G"] = "A100-80G", ["A100-SXM4-40G"] = "A100-40G",
    };

    /// <summary>The GPU called <paramref name="name"/> (or an alias: A100 → A100-80G, H100-SXM → H100).</summary>
    public static GpuType Get(string name)
    {
        var key = name.Trim();
        if (Aliases.TryGetValue(key, out var canonical)) key = canonical;
        return Known.FirstOrDefault(g => string.Equals(g.Name, key, StringComparison.OrdinalIgnoreCase))
            ?? throw new ConfigException($"--gpus: unknown GPU type '{name}'. Known: {string.Join(", ", Known.Select(g => g.Name))}.");
    }
}
