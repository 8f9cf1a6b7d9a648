using LongContext.Core.Attention;
using LongContext.Parallel.ContextParallel;
using LongContext.Parallel.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.ContextParallel;

public class ContextParallelAttentionTests
{
    const double Scale = 0.37;   // not 1/√D: the scale must reach every block

    // Explicit softmax attention in float64 over the whole sequence, causal within documents, with autograd gradients.
    static (Tensor o, Tensor lse, Tensor dq, Tensor dk, Tensor dv) Reference(Tensor q, Tensor k, Tensor v, Tensor dout, DocumentSegments? docs)
    {
        long g = q.shape[1] / k.shape[1], l = q.shape[2];
        var (qd, kd, vd) = (q.to(ScalarType.Float64).requires_grad_(), k.to(ScalarType.Float64).requires_grad_(), v.to(ScalarType.Float64).requires_grad_());
        var scores = matmul(qd, kd.repeat_interleave(g, dim: 1).transpose(-2, -1)) * Scale;
        var visible = arange(l).unsqueeze(0) <= arange(l).unsqueeze(1);                 // [L, L] causal
        var mask = visible.unsqueeze(0).repeat(q.shape[0], 1, 1);                         // [B, L, L]
        if (docs is not null)
            for (int row = 0; row < docs.Rows; row++)
            {
                var id = zeros(l, dtype: ScalarType.Int64);
                int d = 0;
                foreach (var seg in docs.Segments(row)) id.narrow(0, seg.Start, seg.Length).fill_(d++);
                mask[row] = mask[row].logical_and(id.unsqueeze(0) == id.unsqueeze(1));
            }
        scores = scores.masked_fill(mask.logical_not().unsqueeze(1), double.NegativeInfinity);
        var o = matmul(scores.softmax(-1), vd.repeat_interleave(g, dim: 1));
        o.backward([dout.to(ScalarType.Float64)]);
        return (o.detach(), scores.logsumexp(-1).detach(), qd.grad!, kd.grad!, vd.grad!);
    }

    static double RelErr(Tensor got, Tensor expected)
    {
        var e = expected.to(ScalarType.Float64);
        return (got.to(ScalarType.Float64) - e).norm().item<double>() / e.norm().item<double>();
    }

    static IContextParallelAttention Create(string variant, IProcessGroup g) => variant switch
    {
        "ring" => new RingAttention(g),
        "allgather" => new AllGatherAttention(g),
        "allgather-1head" => new AllGatherAttention(g, kvHeadsPerGather: 1),
        _ => throw new ArgumentException(variant),
    };

    /// <summary>
    /// Runs the backend on every rank as threads the way the model calls it (this rank's shard and the whole rows'
    /// documents in the mask), autograd included, and checks the unsharded results.
    /// </summary>
    static void AssertMatchesSingleDevice(string variant, int n, int hq, int hkv, bool documents, ScalarType dtype, double tolerance,
        Func<int, Func<IProcessGroup, Tensor[]>, Tensor[][]>? runRanks = null)
    {
        runRanks ??= (size, body) => ThreadProcessGroup.Run(size, body);
        const long c = 3, b = 2, d = 8;
        var layout = new ZigzagLayout(n, 2 * n * c);
        long l = layout.SequenceLength;
        // Row 0: a one-token document, boundaries inside and at the edge of chunks; row 1: two halves.
        int[] Starts(params long[] at) => [.. at.Where(p => p < l).Distinct().Order().Select(p => (int)p)];
        var docs = documents ? new DocumentSegments([Starts(0, 1, c - 1, 2 * c + 1, l - 2), Starts(0, l / 2)], (int)l) : null;
        var gen = new Generator(17);
        Tensor Draw(long h) => randn([b, h, l, d], generator: gen).to(dtype);
        var (q, k, v, dout) = (Draw(hq), Draw(hkv), Draw(hkv), Draw(hq));
        var expected = Reference(q, k, v, dout, docs);

        var ranks = runRanks(n, g =>
        {
            var attention = Create(variant, g);
            Tensor Mine(Tensor x, bool grad) => layout.Shard(x, g.Rank, dim: 2).detach().requires_grad_(grad);
            var (ql, kl, vl) = (Mine(q, true), Mine(k, true), Mine(v, true));
            var mask = new AttentionMask { Documents = docs, Shard = layout.ShardOf(g.Rank) };
            var output = new ContextParallelAttentionBackend(attention).Attend(ql, kl, vl, mask, Scale);
            Assert.Equal(hq * d, output.stride(2));   // [B, L, H, D] memory: the model merges heads without a copy
            output.backward([Mine(dout, false)]);
            using var noGrad = no_grad();
            var lse = attention.Forward(ql, kl, vl, new ContextParallelCall(layout, docs, Causal: true, Scale)).Lse;
            return new[] { output.detach(), lse, ql.grad!, kl.grad!, vl.grad! }.Select(t => t.DetachFromDisposeScope()).ToArray();
        });
        var names = new[] { "output", "lse", "dq", "dk", "dv" };
        var want = new[] { expected.o, expected.lse, expected.dq, expected.dk, expected.dv };
        for (int i = 0; i < 5; i++)
        {
            var got = layout.Unshard([.. ranks.Select(r => r[i])], dim: 2);
            Assert.Equal(want[i].shape, got.shape);
            if (i != 1) Assert.Equal(dtype, got.dtype);
            double err = RelErr(got, want[i]);
            Assert.True(err <= tolerance, $"{variant} N={n} {hq}:{hkv} docs={documents} {dtype}: {names[i]} rel. error {err:E2} > {tolerance:E0}");
        }
    }

    [Theory]
    [InlineData("ring", 1)]
    [InlineData("ring", 2)]
    [InlineData("ring", 3)]
    [InlineData("ring", 4)]
    [InlineData("ring", 8)]
    [InlineData("allgather", 2)]
    [InlineData("allgather", 3)]
    [InlineData("allgather", 4)]
    [InlineData("allgather-1head", 3)]
    public void Forward_and_backward_equal_single_device_attention_in_fp32(string variant, int n)
    {
        AssertMatchesSingleDevice(variant, n, 8, 2, documents: false, ScalarType.Float32, 1e-5);
        AssertMatchesSingleDevice(variant, n, 8, 1, documents: true, ScalarType.Float32, 1e-5);
    }

    [Theory]
    [InlineData("ring", 2)]
    [InlineData("ring", 4)]
    [InlineData("allgather", 2)]
    [InlineData("allgather", 4)]
    public void Packed_documents_stay_isolated_across_shards_with_gqa_4_to_1(string variant, int n) =>
        AssertMatchesSingleDevice(variant, n, 8, 2, documents: true, ScalarType.Float32, 1e-5);

    [Theory]
    [InlineData("ring", 3)]
    [InlineData("allgather", 3)]
    public void Bf16_shards_stay_within_bf16_tolerance(string variant, int n) =>
        AssertMatchesSingleDevice(variant, n, 8, 2, documents: true, ScalarType.BFloat16, 2e-2);

    [Theory]
    [InlineData("ring")]
    [InlineData("allgather")]
    public void Over_the_tcp_group_on_loopback_both_variants_equal_single_device_attention(string variant) =>
        AssertMatchesSingleDevice(variant, 3, 8, 2, documents: true, ScalarType.Float32, 1e-5,
            (size, body) => Parallel.TcpProcessGroupTests.RunTcp(size, body));

    [Fact]
    public void Merging_blocks_into_row_ranges_in_fp32_equals_attention_over_the_union_of_keys()
    {
        var gen = new Generator(5);
        var (q, k, v) = (randn([1, 4, 6, 8], generator: gen), randn([1, 2, 12, 8], generator: gen), randn([1, 2, 12, 8], generator: gen));
        var whole = MathAttention.Forward(q, k, v, causal: false);
        using var running = LseAccumulator.Empty(1, 4, 6, 8, CPU);
        // Rows 0–2 see keys 0–5 and 6–11 in two blocks; rows 3–5 see the same keys, the second block first.
        foreach (var (q0, k0) in new[] { (0L, 0L), (0L, 6L), (3L, 6L), (3L, 0L) })
            running.Add(MathAttention.Forward(q.narrow(2, q0, 3), k.narrow(2, k0, 6), v.narrow(2, k0, 6), false), batchStart: 0, queryStart: q0);
        var merged = running.Result(ScalarType.Float32);
        Assert.True(RelErr(merged.Output, whole.Output) < 1e-6);
        Assert.True(RelErr(merged.Lse, whole.Lse) < 1e-6);
    }

    [Fact]
    public void A_kernel_level_call_takes_the_inputs_as_this_ranks_zigzag_shard()
    {
        var layout = new ZigzagLayout(2, 16);
        var gen = new Generator(3);
        var (q, k, v) = (randn([1, 4, 16, 8], generator: gen), randn([1, 2, 16, 8], generator: gen), randn([1, 2, 16, 8], generator: gen));
        var expected = MathAttention.Forward(q, k, v, causal: true, Scale).Output;
        var ranks = ThreadProcessGroup.Run(2, g => new ContextParallelAttentionBackend(new RingAttention(g))
            .Attend(layout.Shard(q, g.Rank, 2), layout.Shard(k, g.Rank, 2), layout.Shard(v, g.Rank, 2), causal: true, Scale));
        Assert.True(RelErr(layout.Unshard(ranks, dim: 2), expected) < 1e-6);
    }

    [Fact]
    public void The_backend_refuses_a_kv_cache_a_missing_or_foreign_shard_and_sliding_windows_with_what_to_do()
    {
        ThreadProcessGroup.Run(2, g =>
        {
            var backend = new ContextParallelAttentionBackend(new RingAttention(g));
            Tensor Zeros(long h, long n) => zeros(1, h, n, 4);
            var layout = new ZigzagLayout(2, 16);
            var withShard = new AttentionMask { Shard = layout.ShardOf(g.Rank) };
            var e = Assert.Throws<ContextParallelException>(() => backend.Attend(Zeros(2, 8), Zeros(2, 9), Zeros(2, 9), withShard, 0.5));
            Assert.Contains("shard the inputs with ZigzagLayout.Shard", e.Message);
            var missing = Assert.Throws<ContextParallelException>(() => backend.Attend(Zeros(2, 8), Zeros(2, 8), Zeros(2, 8), AttentionMask.Causal, 0.5));
            Assert.Contains("without a sequence shard", missing.Message);
            var prefix = new AttentionMask { Shard = new SequenceShard(16, [new TokenRange(8 * g.Rank, 8)]) };
            Assert.Contains("needs its zigzag shard", Assert.Throws<ContextParallelException>(() => backend.Attend(Zeros(2, 8), Zeros(2, 8), Zeros(2, 8), prefix, 0.5)).Message);
            var window = withShard with { SlidingWindow = 4 };
            Assert.Contains("cp = 1", Assert.Throws<ContextParallelException>(() => backend.Attend(Zeros(2, 8), Zeros(2, 8), Zeros(2, 8), window, 0.5)).Message);
        });
        var mismatch = Assert.Throws<ContextParallelException>(() => ThreadProcessGroup.Run(2, g =>
            new RingAttention(g).Forward(zeros(1, 2, 4, 4), zeros(1, 2, 4, 4), zeros(1, 2, 4, 4), new ContextParallelCall(new ZigzagLayout(4, 16)))));
        Assert.Contains("cp = 4 but the ring group has 2 ranks", mismatch.Message);
    }
}
