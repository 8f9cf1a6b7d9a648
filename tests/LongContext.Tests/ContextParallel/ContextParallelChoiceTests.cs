using LongContext.Parallel.ContextParallel;

namespace LongContext.Tests.ContextParallel;

public class ContextParallelChoiceTests
{
    // Llama-3-8B attention at 128K over 8 ranks: 32 query heads, 8 KV heads of 128.
    static readonly ContextParallelShape Llama8B = new(WorldSize: 8, Batch: 1, SequenceLength: 131072, QueryHeads: 32, KvHeads: 8, HeadDim: 128);

    [Fact]
    public void Without_documents_on_nvlink_the_ring_hides_its_transfers_and_wins()
    {
        var d = ContextParallelChoice.Choose(ContextParallelVariant.Auto, Llama8B);
        Assert.Equal(ContextParallelVariant.Ring, d.Variant);
        Assert.True(d.Ring.ExposedCommunicationSeconds < 0.05 * d.Ring.ComputeSeconds, $"{d.Ring}");
        Assert.Contains("auto: ring (modelled", d.Reason);
    }

    [Fact]
    public void Packed_documents_choose_the_all_gather_when_the_gathered_kv_fit()
    {
        var d = ContextParallelChoice.Choose(ContextParallelVariant.Auto, Llama8B, documentMask: true);
        Assert.Equal(ContextParallelVariant.AllGather, d.Variant);
        Assert.Equal(8, d.KvHeadsPerGather);
        Assert.Contains("packed documents", d.Reason);
    }

    [Fact]
    public void A_gather_over_budget_is_split_by_kv_heads_and_falls_back_to_the_ring_when_one_head_is_too_much()
    {
        var longer = Llama8B with { SequenceLength = 1 << 20 };
        // One KV head of 1M tokens: 2 × 1M × 128 × (2·2 + 2·4) B = 3 GiB.
        var split = ContextParallelChoice.Choose(ContextParallelVariant.Auto, longer, true, new ContextParallelHardware(GatherBudgetBytes: 7L << 30));
        Assert.Equal((ContextParallelVariant.AllGather, 2), (split.Variant, split.KvHeadsPerGather));
        var tight = new ContextParallelHardware(GatherBudgetBytes: 1L << 30);
        var ring = ContextParallelChoice.Choose(ContextParallelVariant.Auto, longer, true, tight);
        Assert.Equal(ContextParallelVariant.Ring, ring.Variant);
        Assert.Contains("exceed the 1 GiB budget", ring.Reason);
        var e = Assert.Throws<ContextParallelException>(() => ContextParallelChoice.Choose(ContextParallelVariant.AllGather, longer, true, tight));
        Assert.Contains("use --cp-attention ring", e.Message);
    }

    [Fact]
    public void On_a_slow_link_with_kv_head_groups_the_all_gather_overlaps_more_and_wins()
    {
        var shape = new ContextParallelShape(2, 1, 16384, 32, 8, 128);
        var slow = new ContextParallelHardware(LinkBytesPerSecond: 2e9, GatherBudgetBytes: 1L << 26);   // 64 MiB: one KV head per gather
        var d = ContextParallelChoice.Choose(ContextParallelVariant.Auto, shape, false, slow);
        Assert.Equal((ContextParallelVariant.AllGather, 1), (d.Variant, d.KvHeadsPerGather));
        Assert.True(d.AllGather!.TotalSeconds < d.Ring.TotalSeconds);
    }

    [Theory]
    [InlineData("ring", ContextParallelVariant.Ring)]
    [InlineData(" AllGather", ContextParallelVariant.AllGather)]
    [InlineData("auto", ContextParallelVariant.Auto)]
    public void The_flag_parses_its_three_values(string text, ContextParallelVariant expected) =>
        Assert.Equal(expected, ContextParallelChoice.Parse(text));

    [Fact]
    public void An_unknown_flag_value_names_the_choices() =>
        Assert.Contains("expected ring, allgather or auto", Assert.Throws<ContextParallelException>(() => ContextParallelChoice.Parse("ulysses")).Message);
}
