using LongContext.Formats.Config;
using LongContext.Training.Plan;

namespace LongContext.Tests.Plan;

public class MemoryModelTests
{
    private static readonly ModelConfig Tiny = ModelPresets.Get("tiny"); // h 64, q 64, kv 32, I 128, V 256, 2 layers, 4 heads

    [Fact]
    public void Tiny_on_two_gpus_with_ring_two_matches_a_hand_calculation()
    {
        // N = 106,816; one layer = 36,992 parameters; embedding 256·64 = 16,384; shard S = 1024 / 2 = 512 tokens; ZeRO-2.
        var m = MemoryModel.Estimate(Tiny, 1024, new TrainingLayout(2, 2));
        Assert.Equal(512, m.ShardTokens);
        Assert.Equal(213_632, m.Weights);                     // 2 B · N: every GPU holds the whole bf16 model
        Assert.Equal(287_616, m.Gradients);                   // 4 B · N / 2 (fp32 shard) + 2 B · max(36,992, 16,384)
        Assert.Equal(640_896, m.Optimizer);                   // 12 B · N / 2
        Assert.Equal(104_857_600, m.CommunicationBuffers);    // 4 buckets · 25 MiB
        Assert.Equal(131_072, m.Checkpoints);                 // 2 layers · 512 · 64 · 2 B
        Assert.Equal(1_318_912, m.LayerWorkingSet);           // 512 · (2·(5·64 + 2·64 + 2·32 + 6·128) + 4·4)
        Assert.Equal(655_360, m.RingBuffers);                 // 512 · (24·32 + 8·64)
        Assert.Equal(1_048_576, m.LmHeadChunk);               // min(512, 2048) · 256 · 8 B
        Assert.Equal(2L << 30, m.Reserve);
        Assert.Equal(0, m.HostOptimizer);
        Assert.Equal(2_256_637_312L, m.Total);
    }

    [Fact]
    public void One_gpu_has_no_communication_buffers_or_ring_buffers()
    {
        var m = MemoryModel.Estimate(Tiny, 1024, new TrainingLayout(1, 1));
        Assert.Equal((0L, 0L, 1024L), (m.CommunicationBuffers, m.RingBuffers, m.ShardTokens));
        Assert.Equal(16L * 106_816, m.Weights + m.Gradients + m.Optimizer);
    }

    [Fact]
    public void Llama_3_8b_on_8_gpus_counts_the_whole_model_on_every_gpu_as_the_runtime_holds_it()
    {
        // N = 32 layers · 218,112,000 + 2 · 525,336,576 (embedding, LM head) + 4,096 (final norm) = 8,030,261,248.
        var config = ModelPresets.Get("llama-3-8b");
        Assert.Equal(8_030_261_248L, ModelMath.ParameterCount(config));
        var zero1 = MemoryModel.Estimate(config, 1L << 16, new TrainingLayout(8, 1) { Zero = 1 });
        Assert.Equal(16_060_522_496L, zero1.Weights);           // 2 B · N, not sharded
        Assert.Equal(16_060_522_496L, zero1.Gradients);         // 2 B · N, all-reduced in place
        Assert.Equal(12_045_391_872L, zero1.Optimizer);         // 12 B · N / 8
        // The ZeRO-3 model counted 2 B · N / 8 = 2,007,565,312 for the weights and as much for the gradients: the
        // whole model on every GPU is 2 · (16,060,522,496 − 2,007,565,312) = 28,105,914,368 bytes (~28 GB) more.
        Assert.Equal(28_105_914_368L, zero1.Weights + zero1.Gradients - 2 * (2 * 8_030_261_248L / 8));

        var zero2 = MemoryModel.Estimate(config, 1L << 16, new TrainingLayout(8, 1) { Zero = 2 });
        Assert.Equal(5_065_803_776L, zero2.Gradients);          // 4 B · N / 8 + 2 B · 525,336,576 (the embedding's bf16 gradient)
        Assert.Equal(zero1.Weights, zero2.Weights);
        var zero0 = MemoryModel.Estimate(config, 1L << 16, new TrainingLayout(8, 1) { Zero = 0 });
        Assert.Equal(96_363_134_976L, zero0.Optimizer);         // 12 B · N on every GPU
    }

    [Fact]
    public void Optimizer_offload_moves_master_weights_and_adam_states_to_the_host()
    {
        var m = MemoryModel.Estimate(Tiny, 1024, new TrainingLayout(2, 2) { OffloadOptimizer = true });
        Assert.Equal((0L, 640_896L), (m.Optimizer, m.HostOptimizer));
        Assert.Equal(2_256_637_312L - 640_896, m.Total);
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
