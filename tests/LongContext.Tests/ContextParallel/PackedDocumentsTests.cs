using LongContext.Parallel.ContextParallel;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.ContextParallel;

public class PackedDocumentsTests
{
    [Fact]
    public void Document_ids_become_runs_per_row()
    {
        var ids = tensor(new long[] { 7, 7, 3, 3, 3, 9, 1, 1, 1, 1, 1, 1 }).reshape(2, 6);
        var docs = PackedDocuments.FromIds(ids);
        Assert.Equal(new[] { 0, 2, 5 }, docs.Starts[0]);
        Assert.Equal(new[] { 0 }, docs.Starts[1]);
        Assert.Equal(new[] { (0L, 2L), (2L, 5L), (5L, 6L) }, docs.Segments(0).ToArray());
        Assert.False(docs.RowsAgree);
        Assert.False(docs.IsSingleDocument);
    }

    [Fact]
    public void An_id_that_comes_back_after_another_document_is_an_error()
    {
        var e = Assert.Throws<ContextParallelException>(() => PackedDocuments.FromIds(tensor(new long[] { 1, 1, 2, 1 }).reshape(1, 4)));
        Assert.Contains("document id 1 appears in two separate runs of row 0", e.Message);
    }

    [Theory]
    [InlineData(new[] { 1, 4 }, "must begin with 0")]
    [InlineData(new[] { 0, 4, 4 }, "strictly ascending")]
    [InlineData(new[] { 0, 8 }, "below the sequence length 8")]
    public void Malformed_starts_are_rejected(int[] starts, string message)
    {
        var e = Assert.Throws<ContextParallelException>(() => new PackedDocuments([starts], 8));
        Assert.Contains(message, e.Message);
    }
}
