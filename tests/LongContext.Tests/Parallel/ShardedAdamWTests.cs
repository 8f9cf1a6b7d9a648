using LongContext.Parallel.DataParallel;
using LongContext.Training.Optim;
using static TorchSharp.torch;
using static LongContext.Tests.Parallel.DataParallelKit;

namespace LongContext.Tests.Parallel;

public class ShardedAdamWTests
{
    /// <summary>Parameters of awkward sizes (a bucket boundary and a shard boundary fall inside them) and a no-decay norm.</summary>
    static List<KeyValuePair<string, Tensor>> Parameters(ScalarType dtype, long seed)
    {
        var gen = new Generator((ulong)seed);
        return
        [
            new("model.embed_tokens.weight", randn([13, 7], generator: gen).to(dtype).requires_grad_(true)),
            new("model.layers.0.self_attn.q_proj.weight", randn([7, 11], generator: gen).to(dtype).requires_grad_(true)),
            new("model.layers.0.input_layernorm.weight", randn([7], generator: gen).to(dtype).requires_grad_(true)),
            new("lm_head.weight", randn([29, 7], generator: gen).to(dtype).requires_grad_(true)),
        ];
    }

    static Tensor Gradient(Tensor p, int step, int index) =>
        randn(p.shape, generator: new Generator((ulong)(1000 * step + index))).to(p.dtype);

    [Theory]
    [InlineData(3, 1, ScalarType.Float32)]
    [InlineData(2, 2, ScalarType.Float32)]
    [InlineData(4, 1, ScalarType.BFloat16)]
    public void Sharded_AdamW_updates_the_parameters_as_unsharded_AdamW(int ranks, int zero, ScalarType dtype)
    {
        var options = new AdamWOptions(WeightDecay: 0.1);
        var reference = Parameters(dtype, seed: 5);
        using var adamW = new AdamW(reference, options);
        for (int step = 1; step <= 3; step++)
        {
            for (int i = 0; i < reference.Count; i++) reference[i].Value.grad = Gradient(reference[i].Value, step, i);
            adamW.Step(1e-2);
        }

        var results = OnRanks(ranks, zero, topology =>
        {
            var mine = Parameters(dtype, seed: 5);
            using var optimizer = topology.CreateOptimizer(mine, null, options);
            Assert.IsType<ShardedAdamW>(optimizer);
            for (int step = 1; step <= 3; step++)
            {
                // Every rank computes the global gradient / ranks, so the reduced sum is the reference's.
                for (int i = 0; i < mine.Count; i++) mine[i].Value.grad = (Gradient(mine[i].Value, step, i).to(ScalarType.Float32) / ranks).to(dtype);
                topology.SyncGradients(mine);
                optimizer.Step(1e-2);
                optimizer.ZeroGrad();
            }
            return mine.ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float32).DetachFromDisposeScope());
        }, bucketMb: 1.0 / 1024);   // ~1 KiB buckets: several, with parameters split across shards
        var expected = reference.ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float32));
        double tol = dtype == ScalarType.Float32 ? 1e-6 : 0;   // bf16 at 4 ranks: g/4 and its sum are exact, so are the masters
        foreach (var weights in results) AssertClose(expected, weights, tol, $"{ranks} ranks, zero {zero}, {dtype}");
    }

    [Fact]
    public void Each_rank_holds_its_share_of_the_masters_and_moments()
    {
        var shares = OnRanks(4, 1, topology =>
        {
            var mine = Parameters(ScalarType.BFloat16, seed: 1);
            using var optimizer = (ShardedAdamW)topology.CreateOptimizer(mine, null, new AdamWOptions());
            return (optimizer.StateBytes, optimizer.StateSlices().Sum(s => s.Count));
        }, bucketMb: 1.0 / 1024);
        long parameters = Parameters(ScalarType.BFloat16, 1).Sum(p => p.Value.numel());
        // Masters, exp_avg, exp_avg_sq: 12 bytes per parameter, a quarter (plus padding) per rank.
        Assert.All(shares, s => Assert.InRange(s.StateBytes, 12 * parameters / 4, 12 * parameters / 4 + 12 * 4 * 8 * 8));
        Assert.Equal(3 * parameters, shares.Sum(s => s.Item2));
    }
}
