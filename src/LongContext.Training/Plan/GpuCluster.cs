using System.Text.RegularExpressions;

namespace LongContext.Training.Plan;

/// <summary>A number of identical GPUs, written "8xH100", "4xH200", "1xA100-80G" (or just "H100" for one).</summary>
public sealed partial record GpuCluster(int Count, GpuType Gpu)
{
    public override string ToString() => $"{Count}x{Gpu.Name}";

    public static GpuCluster Parse(string text)
    {
        var match = Pattern().Match(text ?? "");
        if (!match.Success)
            throw new ConfigException($"--gpus: '{text}' is not of the form COUNTxTYPE, e.g. 8xH100, 4xH200 or 1xA100-80G.");
        int count = 1;
        if (match.Groups["count"].Success && (!int.TryParse(match.Groups["count"].Value, out count) || count < 1 || count > 1 << 20))
            throw new ConfigException($"--gpus: the count in '{text}' must be a whole number from 1 to {1 << 20}.");
        return new GpuCluster(count, GpuType.Get(match.Groups["type"].Value));
    }

    [GeneratedRegex(@"^\s*(?:(?<count>\d+)\s*[xX×*]\s*)?(?<type>[A-Za-z][A-Za-z0-9\-]*)\s*$")]
    private static partial Regex Pattern();
}
