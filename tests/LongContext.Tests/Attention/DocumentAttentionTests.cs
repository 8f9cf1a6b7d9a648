using LongContext.Core.Attention;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Attention;

public class DocumentAttentionTests
{
    // Explicit softmax attention in float64 under a block-diagonal causal mask built from document ids (K/V repeated per group).
    static Tensor Reference(Tensor q, Tensor k, Tensor v, DocumentSegments documents)
    {
        long g = q.shape[1] / k.shape[1], l = q.shape[2];
        var kr = k.to(ScalarType.Float64).repeat_interleave(g, dim: 1);
        var vr = v.to(ScalarType.Float64).repeat_interleave(g, dim: 1);
        var scores = matmul(q.to(ScalarType.Float64), kr.transpose(-2, -1)) / Math.Sqrt(q.shape[3]);   // [B, H, L, L]
        var ids = documents.DocumentIds(CPU);                                                            // [B, L]
        var otherDocument = ids.unsqueeze(2).ne(ids.unsqueeze(1)).unsqueeze(1);                          // [B, 1, L, L]
        var future = (arange(l).unsqueeze(0) > arange(l).unsqueeze(1)).unsqueeze(0).unsqueeze(0);
        scores = scores.masked_fill(otherDocument.logical_or(future), double.NegativeInfinity);
        return matmul(scores.softmax(-1), vr);
    }

    static double RelErr(Tensor a, Tensor b) =>
        (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).norm().item<double>() / b.to(ScalarType.Float64).norm().item<double>();

    static (Tensor q, Tensor k, Tensor v) Inputs(int b, int hq, int hkv, int l, long seed = 3)
    {
        var gen = new Generator((ulong)seed);
        return (randn([b, hq, l, 8], generator: gen).requires_grad_(), randn([b, hkv, l, 8], generator: gen).requires_grad_(),
            randn([b, hkv, l, 8], generator: gen).requires_grad_());
    }

    public static IEnumerable<object[]> Backends() => [["sdpa"], ["fused"]];

    static IAttentionBackend Backend(string name) => name == "sdpa" ? new SdpaAttentionBackend() : new FusedAttentionBackend();

    [Theory]
    [MemberData(nameof(Backends))]
    public void Packed_documents_attend_block_diagonally_with_the_gradients_of_the_explicit_mask(string backend)
    {
        using var scope = NewDisposeScope();
        // Two rows with different documents (the second row a single document), GQA 4:2.
        var documents = new DocumentSegments([[0, 3, 8], [0]], 11);
        var (q, k, v) = Inputs(2, 4, 2, 11);
        var got = Backend(backend).Attend(q, k, v, new AttentionMask { Documents = documents }, 1.0 / Math.Sqrt(8));
        var (q2, k2, v2) = (q.detach().clone().requires_grad_(), k.detach().clone().requires_grad_(), v.detach().clone().requires_grad_());
        var expected = Reference(q2, k2, v2, documents);
        Assert.True(RelErr(got, expected) < 1e-5, $"output error {RelErr(got, expected):E2}");

        var weights = randn(expected.shape, ScalarType.Float64, generator: new Generator(9));
        (got * weights.to(got.dtype)).sum().backward();
        (expected * weights).sum().backward();
        Assert.True(RelErr(q.grad!, q2.grad!) < 1e-5, "dq");
        Assert.True(RelErr(k.grad!, k2.grad!) < 1e-5, "dk");
        Assert.True(RelErr(v.grad!, v2.grad!) < 1e-5, "dv");
    }

    [Fact]
    public void Each_document_gives_what_it_gives_alone()
    {
        using var scope = NewDisposeScope();
        var documents = new DocumentSegments([[0, 4, 9]], 12);
        var (q, k, v) = Inputs(1, 2, 1, 12);
        using var _ = no_grad();
        var packed = new FusedAttentionBackend().Attend(q, k, v, new AttentionMask { Documents = documents }, 0.3);
        foreach (var seg in documents.Segments(0))
        {
            var alone = MathAttention.Forward(q.narrow(2, seg.Start, seg.Length), k.narrow(2, seg.Start, seg.Length), v.narrow(2, seg.Start, seg.Length), causal: true, 0.3);
            Assert.True(RelErr(packed.narrow(2, seg.Start, seg.Length), alone.Output) < 1e-6, $"document at {seg.Start}");
        }
        // Without the mask the later documents see the earlier ones.
        var plain = new FusedAttentionBackend().Attend(q, k, v, causal: true, 0.3);
        Assert.True(RelErr(plain.narrow(2, 4, 8), packed.narrow(2, 4, 8)) > 1e-2);
    }

    [Fact]
    public void A_sliding_window_applies_inside_each_document()
    {
        using var scope = NewDisposeScope();
        var documents = new DocumentSegments([[0, 6]], 14);
        var (q, k, v) = Inputs(1, 2, 2, 14);
        using var _ = no_grad();
        IAttentionBackend backend = new SdpaAttentionBackend();
        var got = backend.Attend(q, k, v, new AttentionMask { Documents = documents, SlidingWindow = 3 }, 1.0 / Math.Sqrt(8));
        foreach (var seg in documents.Segments(0))
        {
            var (qs, ks, vs) = (q.narrow(2, seg.Start, seg.Length), k.narrow(2, seg.Start, seg.Length), v.narrow(2, seg.Start, seg.Length));
            var alone = backend.AttendSlidingWindow(qs, ks, vs, 3, 1.0 / Math.Sqrt(8));
            Assert.True(RelErr(got.narrow(2, seg.Start, seg.Length), alone) < 1e-6);
        }
    }

    [Fact]
    public void A_document_mask_with_a_kv_cache_or_the_wrong_rows_is_refused()
    {
        using var scope = NewDisposeScope();
        IAttentionBackend backend = new FusedAttentionBackend();
        var (q, k, v) = Inputs(1, 2, 2, 10);
        var e = Assert.Throws<ArgumentException>(() => backend.Attend(q.narrow(2, 6, 4), k, v, new AttentionMask { Documents = new DocumentSegments([[0, 5]], 10) }, 0.3));
        Assert.Contains("full-sequence", e.Message);
        e = Assert.Throws<ArgumentException>(() => backend.Attend(q, k, v, new AttentionMask { Documents = new DocumentSegments([[0], [0]], 10) }, 0.3));
        Assert.Contains("2 row(s) of 10 tokens", e.Message);
        Assert.Throws<ArgumentException>(() => new DocumentSegments([[2, 5]], 10));   // must start at 0
        Assert.Throws<ArgumentException>(() => new DocumentSegments([[0, 5, 5]], 10)); // must increase
    }

    [Fact]
    public void A_prefix_shard_is_attended_locally_and_any_other_shard_needs_a_context_parallel_backend()
    {
        using var scope = NewDisposeScope();
        IAttentionBackend backend = new SdpaAttentionBackend();
        var (q, k, v) = Inputs(1, 2, 2, 12);
        using var _ = no_grad();
        var documents = new DocumentSegments([[0, 5, 9]], 12);
        var whole = backend.Attend(q, k, v, new AttentionMask { Documents = documents }, 0.3);
        var prefix = new SequenceShard(12, [new TokenRange(0, 7)]);
        var (qp, kp, vp) = (q.narrow(2, 0, 7), k.narrow(2, 0, 7), v.narrow(2, 0, 7));
        var shard = backend.Attend(qp, kp, vp, new AttentionMask { Documents = documents, Shard = prefix }, 0.3);
        Assert.True(RelErr(shard, whole.narrow(2, 0, 7)) < 1e-6);

        var zigzag = new SequenceShard(12, [new TokenRange(0, 3), new TokenRange(9, 3)]);
        var e = Assert.Throws<NotSupportedException>(() => backend.Attend(qp.narrow(2, 0, 6), kp.narrow(2, 0, 6), vp.narrow(2, 0, 6), new AttentionMask { Shard = zigzag }, 0.3));
        Assert.Contains("context-parallel attention backend", e.Message);
        Assert.Contains("[0, 3), [9, 12) of 12", e.Message);
    }

    [Fact]
    public void Segments_slice_to_a_range_of_the_row_and_number_each_token_by_document()
    {
        var documents = new DocumentSegments([[0, 3, 8], [0, 6]], 10);
        Assert.Equal([new TokenRange(0, 3), new TokenRange(3, 5), new TokenRange(8, 2)], documents.Segments(0));
        Assert.False(documents.SameInEveryRow);
        var sliced = documents.Slice(2, 6);
        Assert.Equal([0, 1], sliced.Starts(0));       // tokens 2 … 7: the tail of document 0, then document 1 from 3
        Assert.Equal([0, 4], sliced.Starts(1));
        Assert.Equal(new long[] { 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1 }, documents.DocumentIds(CPU).data<long>().ToArray());
        Assert.Equal(new long[] { 0, 1, 2, 9, 10, 11 }, new SequenceShard(12, [new TokenRange(0, 3), new TokenRange(9, 3)]).GlobalIndices(CPU).data<long>().ToArray());
    }
}
