using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Formats.Config;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TrainingTestKit;

namespace LongContext.Tests.Training;

/// <summary>
/// RoPE types whose frequencies depend on the sequence length (dynamic, longrope) must see the length of the whole
/// sequence on every shard of it. A prefix shard (the first half of each row) is what the trainer can check on one
/// device: its causal loss equals the whole sequence's loss on those tokens only if RoPE used the global length.
/// </summary>
public class GlobalRopeLengthTests
{
    const int Length = 32, Half = 16;

    public static IEnumerable<object[]> LengthDependentRope() =>
    [
        // dynamic NTK: scaled past max_position_embeddings 16, so at 32 tokens but not at 16
        ["dynamic", Tiny with { MaxPositionEmbeddings = 16, Rope = new RopeParameters { RopeType = "dynamic", RopeTheta = 10_000, Factor = 8 } }],
        // longrope: long factors past original_max_position_embeddings 16
        ["longrope", Tiny with { MaxPositionEmbeddings = 64, Rope = new RopeParameters
        {
            RopeType = "longrope", RopeTheta = 10_000, OriginalMaxPositionEmbeddings = 16,
            ShortFactor = Enumerable.Repeat(1.0, 8).ToArray(), LongFactor = Enumerable.Range(1, 8).Select(i => 1.0 + i).ToArray(),
        } }],
    ];

    // Weights large enough that attention depends on the rotation (at std 0.02 every score is near 0).
    static LlamaForCausalLM NewModel(ModelConfig config) => ModelLoader.CreateRandom(config, CPU, ScalarType.Float32, seed: 2, std: 0.3);

    /// <summary>The whole sequence's mean token loss over the first <see cref="Half"/> positions (fresh model: dynamic RoPE keeps state).</summary>
    static double WholeSequenceLossOnPrefix(ModelConfig config, TrainingBatch batch)
    {
        using var model = NewModel(config);
        using var scope = NewDisposeScope();
        var device = DeviceBatch.Upload(batch, CPU, new SdpaAttentionBackend());
        var logits = model.Logits(model.Forward(device.InputIds, device.Context));                            // [1, 32, V]
        var perToken = nn.functional.cross_entropy(logits[0], device.Labels[0], ignore_index: TrainingBatch.IgnoreIndex, reduction: nn.Reduction.None);
        var mask = device.Labels[0].narrow(0, 0, Half).ne(TrainingBatch.IgnoreIndex);
        return (perToken.narrow(0, 0, Half) * mask).sum().item<float>() / mask.sum().item<long>();
    }

    [Theory]
    [MemberData(nameof(LengthDependentRope))]
    public void A_sequence_shard_is_rotated_for_the_global_length(string ropeType, ModelConfig config)
    {
        using var dir = new TempDir();
        var batch = new SyntheticDataSource(1, Length).Next();
        Assert.Equal(Length, batch.RopeSequenceLength);
        double expected = WholeSequenceLossOnPrefix(config, batch);

        foreach (var loss in new ILossComputer[] { new CrossEntropyLoss(), new LongSequenceLoss(chunkTokens: 5) })
        {
            using var model = NewModel(config);
            var topology = new RecordingTopology { Shard = step => RecordingTopology.Prefix(step, Half) };
            using var trainer = new Trainer(model, new SyntheticDataSource(1, Length), new SdpaAttentionBackend(), Options(dir.Path, maxSteps: 1), loss, topology: topology);
            double sharded = trainer.TrainStep().Loss;   // fetch → shard (first half) → loss with the batch's global RoPE length
            Assert.True(Math.Abs(sharded - expected) < 1e-5, $"{ropeType}, {loss.GetType().Name}: shard {sharded}, whole sequence {expected}");
        }

        // The same shard rotated for its own length gives another loss: the check above can fail.
        using var local = NewModel(config);
        var shard = RecordingTopology.Prefix([batch], Half)[0] with { RopeSequenceLength = Half };
        using var scope = NewDisposeScope();
        var device = DeviceBatch.Upload(shard, CPU, new SdpaAttentionBackend());
        double localLoss = new CrossEntropyLoss().LossSum(local, device).item<float>() / shard.PredictedTokens;
        Assert.True(Math.Abs(localLoss - expected) > 1e-4, $"{ropeType}: the local length gave the same loss ({localLoss})");
    }
}
