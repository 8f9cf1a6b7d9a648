using LongContext.Training.Data;
using Xunit;

namespace LongContext.Tests.Data;

public class PackedDataSourceTests
{
    private const long X = TrainingBatch.IgnoreIndex;

    private static InMemoryTokenCorpus Corpus(params int[][] documents) => new(documents);

    // A = 1 2 3, B = 4 5 6 7 8, C = 9 10 11: stream 1..11; at L = 5 two rows and one dropped token.
    private static readonly InMemoryTokenCorpus Abc = Corpus([1, 2, 3], [4, 5, 6, 7, 8], [9, 10, 11]);

    [Fact]
    public void Rows_are_consecutive_stream_slices_with_next_token_labels_and_ignored_last_position()
    {
        var source = new PackedDataSource(Abc, new PackingOptions { SequenceLength = 5, BatchSize = 2, Shuffle = false });

        var batch = source.Next();

        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], batch.InputIds);
        Assert.Equal([2, 3, 4, 5, X, 7, 8, 9, 10, X], batch.Labels);
        Assert.Equal([0, 1, 2, 3, 4, 0, 1, 2, 3, 4], batch.PositionIds);
        Assert.Equal([0, 3], batch.DocumentStarts![0]);
        Assert.Equal([0, 3], batch.DocumentStarts![1]);
        Assert.Equal(8, batch.PredictedTokens);
        Assert.Equal(2, source.Report.Sequences);
        Assert.Equal(1, source.Report.DroppedTokens);
    }

    [Fact]
    public void Document_boundary_masking_and_position_reset_follow_document_starts()
    {
        var source = new PackedDataSource(Abc, new PackingOptions
        {
            SequenceLength = 5, BatchSize = 2, Shuffle = false, MaskDocumentBoundaries = true, ResetPositionIds = true,
        });

        var batch = source.Next();

        // Row 0: A | B(4 5); row 1: B(6 7 8) continues as a new segment | C(9 10).
        Assert.Equal([2, 3, X, 5, X, 7, 8, X, 10, X], batch.Labels);
        Assert.Equal([0, 1, 2, 0, 1, 0, 1, 2, 0, 1], batch.PositionIds);
    }

    [Fact]
    public void Long_document_spans_rows_without_internal_boundaries()
    {
        var corpus = Corpus([1], Enumerable.Range(10, 9).ToArray(), [2, 3]);
        var source = new PackedDataSource(corpus, new PackingOptions { SequenceLength = 4, Shuffle = false, ResetPositionIds = true });

        var rows = Enumerable.Range(0, 2).Select(_ => source.Next()).ToList();
        var third = source.Next();

        Assert.Equal([1, 10, 11, 12], rows[0].InputIds);
        Assert.Equal([0, 1], rows[0].DocumentStarts![0]);
        Assert.Equal([0, 0, 1, 2], rows[0].PositionIds);
        Assert.Equal([13, 14, 15, 16], rows[1].InputIds);
        Assert.Equal([0], rows[1].DocumentStarts![0]);
        Assert.Equal([0, 1, 2, 3], rows[1].PositionIds);
        Assert.Equal([17, 18, 2, 3], third.InputIds);
        Assert.Equal([0, 2], third.DocumentStarts![0]);
        Assert.Equal([0, 1, 0, 1], third.PositionIds);
        Assert.Equal(new DataCursor(1, 0), source.Cursor);
    }

    [Fact]
    public void Max_tokens_keeps_the_corpus_prefix_and_cuts_the_last_document()
    {
        var report = PackedDataSource.Describe(Abc, new PackingOptions { SequenceLength = 3, MaxTokens = 7 });

        Assert.Equal(2, report.UsedDocuments);
        Assert.Equal(7, report.UsedTokens);
        Assert.Equal(2, report.Sequences);
        Assert.Equal(1, report.DroppedTokens);
        Assert.Equal(4, report.LongestDocument);
    }

    [Fact]
    public void Upsampling_repeats_each_long_document_factor_times_per_epoch()
    {
        // Lengths 2, 6, 3, 8; documents of >= 5 tokens appear 3 times.
        var corpus = Corpus([1, 1], [2, 2, 2, 2, 2, 2], [3, 3, 3], [4, 4, 4, 4, 4, 4, 4, 4]);
        var options = new PackingOptions { SequenceLength = 47, UpsampleMinTokens = 5, UpsampleFactor = 3 };
        var source = new PackedDataSource(corpus, options);

        var report = source.Report;
        var counts = source.Next().InputIds.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(2, report.UpsampledDocuments);
        Assert.Equal(28, report.RepeatedTokens);
        Assert.Equal(47, report.EpochTokens);
        Assert.Equal(1, report.Sequences);
        Assert.Equal(2, counts[1]);
        Assert.Equal(18, counts[2]);
        Assert.Equal(3, counts[3]);
        Assert.Equal(24, counts[4]);
    }

    [Fact]
    public void Upsampled_copies_start_new_segments()
    {
        var corpus = Corpus([1, 2], [5, 6, 7]);
        var source = new PackedDataSource(corpus, new PackingOptions { SequenceLength = 8, Shuffle = false, UpsampleMinTokens = 3, UpsampleFactor = 2 });

        var batch = source.Next();

        Assert.Equal([1, 2, 5, 6, 7, 5, 6, 7], batch.InputIds);
        Assert.Equal([0, 2, 5], batch.DocumentStarts![0]);
    }

    [Fact]
    public void Each_epoch_visits_every_sequence_once_in_a_seeded_order()
    {
        var corpus = Corpus(Enumerable.Range(0, 100).Select(i => new[] { i + 1000 }).ToArray());
        var options = new PackingOptions { SequenceLength = 2, BatchSize = 5, Seed = 11 };

        List<long> Epoch(PackedDataSource s) => Enumerable.Range(0, 10).SelectMany(_ => s.Next().InputIds.Where((_, i) => i % 2 == 0)).ToList();
        var source = new PackedDataSource(corpus, options);
        var epoch0 = Epoch(source);
        var epoch1 = Epoch(source);
        var again = Epoch(new PackedDataSource(corpus, options));
        var otherSeed = Epoch(new PackedDataSource(corpus, options with { Seed = 12 }));

        var all = Enumerable.Range(0, 50).Select(i => (long)(1000 + 2 * i)).ToList();
        Assert.Equal(all, epoch0.Order());
        Assert.Equal(all, epoch1.Order());
        Assert.NotEqual(all, epoch0);
        Assert.NotEqual(epoch0, epoch1);
        Assert.Equal(epoch0, again);
        Assert.NotEqual(epoch0, otherSeed);
        Assert.Equal(new DataCursor(2, 0), source.Cursor);
    }

    [Fact]
    public void Seeking_a_fresh_source_to_a_saved_cursor_gives_the_same_following_batches()
    {
        var corpus = Corpus(Enumerable.Range(0, 30).Select(i => Enumerable.Range(i * 100, 1 + i % 9).ToArray()).ToArray());
        var options = new PackingOptions { SequenceLength = 6, BatchSize = 4, Seed = 5, ResetPositionIds = true, UpsampleMinTokens = 7, UpsampleFactor = 2 };
        var original = new PackedDataSource(corpus, options);
        Assert.NotEqual(0, original.Report.Sequences % options.BatchSize); // batches straddle epochs

        for (int i = 0; i < 7; i++) original.Next();
        var cursor = original.Cursor;
        var continued = Enumerable.Range(0, 12).Select(_ => original.Next()).ToList();

        var resumed = new PackedDataSource(corpus, options);
        resumed.Seek(cursor);
        var replayed = Enumerable.Range(0, 12).Select(_ => resumed.Next()).ToList();

        Assert.True(continued[^1].InputIds.Length > 0 && original.Cursor.Epoch >= 2);
        for (int i = 0; i < continued.Count; i++)
        {
            Assert.Equal(continued[i].InputIds, replayed[i].InputIds);
            Assert.Equal(continued[i].Labels, replayed[i].Labels);
            Assert.Equal(continued[i].PositionIds, replayed[i].PositionIds);
        }
        Assert.Equal(original.Cursor, resumed.Cursor);
    }

    [Fact]
    public void Cursor_outside_the_data_is_rejected()
    {
        var source = new PackedDataSource(Abc, new PackingOptions { SequenceLength = 5 });

        var e = Assert.Throws<DataException>(() => source.Seek(new DataCursor(0, 3)));

        Assert.Contains("2 sequences per epoch", e.Message);
    }

    [Fact]
    public void Too_little_data_for_one_sequence_is_an_error()
    {
        var e = Assert.Throws<DataException>(() => new PackedDataSource(Abc, new PackingOptions { SequenceLength = 12 }));

        Assert.Contains("fewer than one sequence", e.Message);
    }

    [Fact]
    public void Report_counts_documents_at_least_the_sequence_length()
    {
        var report = PackedDataSource.Describe(Abc, new PackingOptions { SequenceLength = 3, BatchSize = 2 });

        Assert.Equal(3, report.CorpusDocuments);
        Assert.Equal(11, report.CorpusTokens);
        Assert.Equal(3, report.DocumentsAtLeastSequenceLength);
        Assert.Equal(3, report.Sequences);
        Assert.Equal(2, report.BatchesPerEpoch);
        Assert.Equal(5, report.LongestDocument);
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        Assert.Throws<DataException>(() => new PackedDataSource(Abc, new PackingOptions { SequenceLength = 1 }));
        Assert.Throws<DataException>(() => new PackedDataSource(Abc, new PackingOptions { SequenceLength = 4, BatchSize = 0 }));
        Assert.Throws<DataException>(() => new PackedDataSource(Abc, new PackingOptions { SequenceLength = 4, UpsampleFactor = 0 }));
        Assert.Throws<DataException>(() => new PackedDataSource(Abc, new PackingOptions { SequenceLength = 4, MaxTokens = 0 }));
    }
}
