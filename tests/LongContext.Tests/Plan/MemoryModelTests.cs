using LongContext.Formats.Config;
using LongContext.Training.Plan;

namespace LongContext.Tests.Plan;

public class MemoryModelTests
{
    private static readonly ModelConfig Tiny = ModelPresets.Get("tiny"); // h 64, q 64, kv 32, I 128, V 256, 2 layers, 4 heads

    [Fact]
    public void Tiny_on_two_gpus_with_ring_two_matches_a_hand_calculation()
    {
        // N = 106,816; one layer = 36,992 parameters; embedding 256·64 = 16,384; shard S = 1024 / 2 = 512 tokens.
        var m = MemoryModel.Estimate(Tiny, 1024, new TrainingLayout(2, 2));
        Assert.Equal(512, m.ShardTokens);
        Assert.Equal(106_816, m.Weights);                     // 2 B · N / 2
        Assert.Equal(106_816, m.Gradients);                   // 2 B · N / 2
        Assert.Equal(640_896, m.Optimizer);                   // 12 B · N / 2
        Assert.Equal(221_952, m.GatheredParameters);          // max(6 · 36,992, 4 · 16,384)
        Assert.Equal(131_072, m.Checkpoints);                 // 2 layers · 512 · 64 · 2 B
        Assert.Equal(1_318_912, m.LayerWorkingSet);           // 512 · (2·(5·64 + 2·64 + 2·32 + 6·128) + 4·4)
        Assert.Equal(655_360, m.RingBuffers);                 // 512 · (24·32 + 8·64)
        Assert.Equal(1_048_576, m.LmHeadChunk);               // min(512, 2048) · 256 · 8 B
        Assert.Equal(2L << 30, m.Reserve);
        Assert.Equal(0, m.HostOptimizer);
        Assert.Equal(2_151_714_048L, m.Total);
    }

    [Fact]
    public void One_gpu_has_no_gathered_parameters_or_ring_buffers()
    {
        var m = MemoryModel.Estimate(Tiny, 1024, new TrainingLayout(1, 1));
        Assert.Equal((0L, 0L, 1024L), (m.GatheredParameters, m.RingBuffers, m.ShardTokens));
        Assert.Equal(16L * 106_816, m.Weights + m.Gradients + m.Optimizer);
    }

    [Fact]
    public void Optimizer_offload_moves_master_weights_and_adam_states_to_the_host()
    {
        var m = MemoryModel.Estimate(Tiny, 1024, new TrainingLayout(2, 2) { OffloadOptimizer = true });
        Assert.Equal((0L, 640_896L), (m.Optimizer, m.HostOptimizer));
        Assert.Equal(2_151_714_048L - 640_896, m.Total);
    }

    [Fact]
    public void Llama_3_8b_checkpoints_at_64K_are_16_GiB()
    {
        var m = MemoryModel.Estimate(ModelPresets.Get("llama-3-8b"), 1L << 16, new TrainingLayout(8, 1));
        Assert.Equal(16L << 30, m.Checkpoints); // 32 layers · 65,536 · 4096 · 2 B
        Assert.Equal(2048L * 128_256 * 8, m.LmHeadChunk);
    }

    [Theory]
    [InlineData(8, 3, 1024)]   // ring does not divide the GPUs
    [InlineData(8, 8, 1000)]   // 1000 tokens cannot be cut into 16 equal chunks
    public void Invalid_layouts_are_config_errors(int gpus, int ring, long length) =>
        Assert.Throws<ConfigException>(() => MemoryModel.Estimate(Tiny, length, new TrainingLayout(gpus, ring)));
}
