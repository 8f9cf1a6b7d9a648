using LongContext.Core.Attention;
using LongContext.Parallel.ContextParallel;

namespace LongContext.Tests.ContextParallel;

public class ZigzagBlocksTests
{
    // For every rank, how often each (query position, key position) pair is computed, from the blocks' local indices.
    static int[,] Coverage(ZigzagLayout layout, Func<int, int, IReadOnlyList<AttentionBlock>> blocksOf, bool ring, int row)
    {
        long l = layout.SequenceLength;
        var count = new int[l, l];
        for (int r = 0; r < layout.WorldSize; r++)
        {
            var qPos = layout.Positions(r).data<long>().ToArray();
            for (int step = 0; step < (ring ? layout.WorldSize : 1); step++)
            {
                int source = (r - step + layout.WorldSize) % layout.WorldSize;
                var kPos = ring ? layout.Positions(source).data<long>().ToArray() : [.. Enumerable.Range(0, (int)l).Select(i => (long)i)];
                foreach (var b in blocksOf(r, source))
                {
                    if (row < b.BatchStart || row >= b.BatchStart + b.BatchCount) continue;
                    if (b.Causal) Assert.Equal(b.QueryLength, b.KeyLength);
                    for (long i = 0; i < b.QueryLength; i++)
                        for (long j = 0; j < (b.Causal ? i + 1 : b.KeyLength); j++)
                            count[qPos[b.QueryStart + i], kPos[b.KeyStart + j]]++;
                }
            }
        }
        return count;
    }

    static void AssertExactlyTheMask(int[,] count, DocumentSegments? docs, int row)
    {
        long l = count.GetLength(0);
        int[] docOf = new int[l];
        if (docs is not null)
        {
            int d = 0;
            foreach (var seg in docs.Segments(row)) { for (long p = seg.Start; p < seg.End; p++) docOf[p] = d; d++; }
        }
        for (int i = 0; i < l; i++)
            for (int j = 0; j < l; j++)
                Assert.True(count[i, j] == (j <= i && docOf[i] == docOf[j] ? 1 : 0), $"row {row}: pair (q {i}, k {j}) computed {count[i, j]} times");
    }

    // Row 0: a one-token document and boundaries inside and at the edge of chunks; row 1: two halves.
    static DocumentSegments Documents(long l, long c)
    {
        int[] Starts(params long[] at) => [.. at.Where(p => p < l).Distinct().Order().Select(p => (int)p)];
        return new([Starts(0, 1, c - 1, 2 * c + 3, l - 2), Starts(0, l / 2)], (int)l);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    public void Ring_steps_cover_each_causal_pair_exactly_once(int n)
    {
        var layout = new ZigzagLayout(n, 2 * n * 5);
        AssertExactlyTheMask(Coverage(layout, (r, j) => ZigzagBlocks.RingStep(layout, r, j, 1, causal: true), ring: true, 0), null, 0);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Ring_steps_with_documents_cover_exactly_the_same_document_pairs(int n)
    {
        var layout = new ZigzagLayout(n, 2 * n * 5);
        var docs = Documents(layout.SequenceLength, layout.ChunkLength);
        for (int row = 0; row < 2; row++)
            AssertExactlyTheMask(Coverage(layout, (r, j) => ZigzagBlocks.RingStep(layout, r, j, 2, true, docs), ring: true, row), docs, row);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void All_gather_blocks_cover_exactly_the_mask_with_and_without_documents(int n)
    {
        var layout = new ZigzagLayout(n, 2 * n * 5);
        AssertExactlyTheMask(Coverage(layout, (r, _) => ZigzagBlocks.AllGather(layout, r, 1, true), ring: false, 0), null, 0);
        var docs = Documents(layout.SequenceLength, layout.ChunkLength);
        for (int row = 0; row < 2; row++)
            AssertExactlyTheMask(Coverage(layout, (r, _) => ZigzagBlocks.AllGather(layout, r, 2, true, docs), ring: false, row), docs, row);
    }

    [Fact]
    public void Without_documents_every_ring_step_is_one_kernel_call_of_equal_work()
    {
        var layout = new ZigzagLayout(4, 64);   // c = 8
        long c = layout.ChunkLength;
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 4; j++)
            {
                var b = Assert.Single(ZigzagBlocks.RingStep(layout, r, j, 1, true));
                // 2c² query-key products per step (the causal step computes the full 2c × 2c square's kernel tiles).
                Assert.Equal(2 * c * c, b.Causal ? b.QueryLength * b.KeyLength / 2 : b.QueryLength * b.KeyLength);
            }
    }

    [Fact]
    public void Documents_need_causal_attention_and_the_right_row_count()
    {
        var layout = new ZigzagLayout(2, 16);
        var docs = new DocumentSegments([[0, 5]], 16);
        Assert.Contains("causal attention only", Assert.Throws<ContextParallelException>(() => ZigzagBlocks.RingStep(layout, 0, 1, 1, false, docs)).Message);
        Assert.Contains("describe 1 rows but the batch has 2", Assert.Throws<ContextParallelException>(() => ZigzagBlocks.AllGather(layout, 0, 2, true, docs)).Message);
        Assert.Contains("rows of 16 tokens but the layout is for 32",
            Assert.Throws<ContextParallelException>(() => ZigzagBlocks.RingStep(new ZigzagLayout(2, 32), 0, 0, 1, true, docs)).Message);
    }
}
