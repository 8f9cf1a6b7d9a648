using LongContext.Parallel.Distributed;

namespace LongContext.Tests.Parallel;

public class ParallelDimsTests
{
    [Fact]
    public void Parallel_dims_infer_minus_one_and_reject_degrees_that_do_not_multiply_to_the_world()
    {
        var d = ParallelDims.Resolve(8, dp: -1, cp: 4);
        Assert.Equal((2, 4, 8, true, true), (d.Dp, d.Cp, d.SeqLenDivisor, d.DpEnabled, d.CpEnabled));
        Assert.Equal((1, 3), d.Coordinates(7));
        Assert.Equal(6, d.RankOf(1, 2));
        Assert.Equal(1, ParallelDims.Resolve(4, dp: 4, cp: -1).Cp);
        Assert.Equal(1, ParallelDims.Resolve(4).SeqLenDivisor);
        Assert.Contains("does not divide the world size 6", Assert.Throws<ConfigException>(() => ParallelDims.Resolve(6, cp: 4)).Message);
        Assert.Contains("multiply", Assert.Throws<ConfigException>(() => ParallelDims.Resolve(8, dp: 2, cp: 2)).Message);
        Assert.Contains("at most one", Assert.Throws<ConfigException>(() => ParallelDims.Resolve(8, dp: -1, cp: -1)).Message);
        Assert.Throws<ConfigException>(() => ParallelDims.Resolve(8, dp: 0));
    }

}
