using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Formats.Config;
using LongContext.Parallel.ContextParallel;
using LongContext.Parallel.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.ContextParallel;

/// <summary>The unchanged model under context-parallel attention equals one device: hidden states and weight gradients.</summary>
public class ContextParallelModelTests
{
    [Theory]
    [InlineData("ring", 2)]
    [InlineData("ring", 4)]
    [InlineData("allgather", 3)]
    public void A_sharded_forward_and_backward_of_packed_documents_equals_one_device(string variant, int n)
    {
        var config = ModelPresets.Get("tiny");
        var layout = new ZigzagLayout(n, 2 * n * 6);
        int l = (int)layout.SequenceLength;
        var docs = new DocumentSegments([[0, 5, 17, l - 3]], l);
        var gen = new Generator(11);
        var ids = randint(0, config.VocabSize, [1, l], generator: gen);
        // Positions restart per document (as the packer gives them), so RoPE sees document-local positions.
        var positions = zeros([1, l], dtype: ScalarType.Int64);
        foreach (var seg in docs.Segments(0)) positions[0].narrow(0, seg.Start, seg.Length).copy_(arange(seg.Length));
        var probe = randn([config.VocabSize], generator: gen);   // loss = Σ_tokens logits · probe: a sum over tokens, so ranks' gradients add up
        string[] names = [];

        (Tensor Hidden, Tensor[] Grads) Run(IAttentionBackend backend, ForwardContext context, Tensor input)
        {
            using var model = ModelLoader.CreateRandom(config, CPU, ScalarType.Float32, seed: 5);
            foreach (var p in model.parameters()) p.requires_grad = true;
            var hidden = model.Forward(input, context);
            (model.Logits(hidden) * probe).sum().backward();
            names = [.. model.named_parameters().Select(p => p.name)];
            return (hidden.detach(), [.. model.parameters().Select(p => p.grad!.clone())]);
        }

        var single = Run(new FusedAttentionBackend(), new ForwardContext(new FusedAttentionBackend()) { PositionIds = positions, Documents = docs }, ids);
        var ranks = ThreadProcessGroup.Run(n, g =>
        {
            IContextParallelAttention attention = variant == "ring" ? new RingAttention(g) : new AllGatherAttention(g);
            var backend = new ContextParallelAttentionBackend(attention);
            var context = new ForwardContext(backend)
            {
                PositionIds = layout.Shard(positions, g.Rank),
                RopeSequenceLength = (int)positions.max().item<long>() + 1,   // of the whole batch, as one device computes it
                Documents = docs,
                Shard = layout.ShardOf(g.Rank),
            };
            return Run(backend, context, layout.Shard(ids, g.Rank));
        });
        var hidden = layout.Unshard([.. ranks.Select(r => r.Hidden)]);
        Assert.True(RelErr(hidden, single.Hidden) < 1e-5, $"hidden rel. error {RelErr(hidden, single.Hidden):E2}");
        for (int i = 0; i < names.Length; i++)
        {
            var summed = ranks.Select(r => r.Grads[i]).Aggregate((a, b) => a + b);
            Assert.True(RelErr(summed, single.Grads[i]) < 1e-5, $"{names[i]}: gradient rel. error {RelErr(summed, single.Grads[i]):E2}");
        }
    }

    static double RelErr(Tensor got, Tensor expected) =>
        (got.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).norm().item<double>() / expected.to(ScalarType.Float64).norm().item<double>();
}
