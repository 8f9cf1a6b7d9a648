using LongContext.Training.Plan;

namespace LongContext.Tests.Plan;

public class GpuClusterTests
{
    [Theory]
    [InlineData("8xH100", 8, "H100")]
    [InlineData("4xH200", 4, "H200")]
    [InlineData("1xA100-80G", 1, "A100-80G")]
    [InlineData("16 x l40s", 16, "L40S")]
    [InlineData("A100", 1, "A100-80G")]
    public void Parses_count_and_type(string text, int count, string type)
    {
        var cluster = GpuCluster.Parse(text);
        Assert.Equal((count, type), (cluster.Count, cluster.Gpu.Name));
    }

    [Fact]
    public void Table_holds_memory_and_peak_bf16_flops()
    {
        var h100 = GpuType.Get("h100");
        Assert.Equal(81559L << 20, h100.MemoryBytes);
        Assert.Equal(989.4e12, h100.PeakBf16Flops);
        Assert.Equal(362.05e12, GpuType.Get("L40S").PeakBf16Flops);
    }

    [Theory]
    [InlineData("0xH100")]
    [InlineData("8x")]
    [InlineData("8xB300")]
    [InlineData("")]
    public void Rejects_bad_specs(string text) => Assert.Throws<ConfigException>(() => GpuCluster.Parse(text));
}
