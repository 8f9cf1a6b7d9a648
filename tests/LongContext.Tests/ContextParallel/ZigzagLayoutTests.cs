using LongContext.Core.Attention;
using LongContext.Parallel.ContextParallel;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.ContextParallel;

public class ZigzagLayoutTests
{
    [Fact]
    public void Rank_r_holds_chunks_r_and_2N_minus_1_minus_r()
    {
        var layout = new ZigzagLayout(4, 32);   // chunks of 4
        Assert.Equal(4, layout.ChunkLength);
        Assert.Equal((1, 6), layout.ChunksOf(1));
        Assert.Equal(new long[] { 4, 5, 6, 7, 24, 25, 26, 27 }, layout.Positions(1).data<long>().ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public void Shard_then_unshard_gives_back_the_sequence(int n)
    {
        var layout = new ZigzagLayout(n, 2 * n * 3);
        var x = arange(2 * layout.SequenceLength).reshape(2, layout.SequenceLength, 1).expand(2, layout.SequenceLength, 5);
        var shards = Enumerable.Range(0, n).Select(r => layout.Shard(x, r)).ToList();
        Assert.All(shards, s => Assert.Equal(layout.LocalLength, s.shape[1]));
        Assert.True(layout.Unshard(shards).equal(x).all().item<bool>());
        // Every rank's positions are the global positions of its shard.
        for (int r = 0; r < n; r++)
            Assert.Equal(layout.Positions(r).data<long>().ToArray(), layout.Shard(arange(layout.SequenceLength).unsqueeze(0), r).data<long>().ToArray());
    }

    [Fact]
    public void Host_rows_shard_like_tensors()
    {
        var layout = new ZigzagLayout(2, 8);
        long[] batch = [.. Enumerable.Range(0, 16).Select(i => (long)i)];   // 2 rows × 8
        Assert.Equal(new long[] { 2, 3, 4, 5, 10, 11, 12, 13 }, layout.Shard<long>(batch, rows: 2, rank: 1));
        var e = Assert.Throws<ContextParallelException>(() => layout.Shard<long>(batch.AsSpan(0, 10), rows: 2, rank: 0));
        Assert.Contains("2 rows × 8 tokens", e.Message);
    }

    [Fact]
    public void A_rank_shard_describes_its_two_chunks_and_only_the_zigzag_shard_is_accepted()
    {
        var layout = new ZigzagLayout(3, 24);   // chunks of 4
        var shard = layout.ShardOf(2);
        Assert.Equal([new TokenRange(8, 4), new TokenRange(12, 4)], shard.Ranges);
        Assert.Equal(layout, ZigzagLayout.Of(shard, worldSize: 3, rank: 2));
        var e = Assert.Throws<ContextParallelException>(() => ZigzagLayout.Of(new SequenceShard(24, [new TokenRange(16, 8)]), 3, 2));
        Assert.Contains("tokens [16, 24) of 24", e.Message);
        Assert.Contains("zigzag shard [8, 12), [12, 16)", e.Message);
    }

    [Theory]
    [InlineData(4, 30)]
    [InlineData(3, 8)]
    public void A_length_not_divisible_by_2cp_is_rejected_with_the_fix(int n, long length)
    {
        var e = Assert.Throws<ContextParallelException>(() => new ZigzagLayout(n, length));
        Assert.Contains($"not divisible by 2·cp = {2 * n}", e.Message);
        Assert.Contains($"multiple of {2 * n}", e.Message);
    }

    [Fact]
    public void A_shard_of_the_wrong_length_is_rejected_naming_the_expected_one()
    {
        var layout = new ZigzagLayout(2, 16);
        var e = Assert.Throws<ContextParallelException>(() => layout.Unshard([zeros(1, 8), zeros(1, 6)]));
        Assert.Contains("rank 1's shard has 6 tokens", e.Message);
        Assert.Throws<ContextParallelException>(() => layout.Shard(zeros(1, 12), 0));
    }
}
