using LongContext.Training.Data;
using LongContext.Training.Quickstart;

namespace LongContext.Tests.Quickstart;

public class RecallDataTests
{
    private static readonly RecallVocabulary Vocab = new();

    [Fact]
    public void Same_seed_and_cursor_give_the_same_batches_and_another_seed_differs()
    {
        var a = new RecallCorpus(Vocab, 128, 4, seed: 7);
        var b = new RecallCorpus(Vocab, 128, 4, seed: 7);
        var first = a.Next();
        Assert.Equal(first.InputIds, b.Next().InputIds);
        var second = a.Next();
        Assert.Equal(new DataCursor(0, 8), a.Cursor);

        b.Seek(new DataCursor(0, 4));
        var resumed = b.Next();
        Assert.Equal(second.InputIds, resumed.InputIds);
        Assert.Equal(second.Labels, resumed.Labels);

        var other = new RecallCorpus(Vocab, 128, 4, seed: 8).Next();
        Assert.NotEqual(first.InputIds, other.InputIds);
    }

    [Fact]
    public void Rows_and_needle_prompts_are_the_same_in_every_process()
    {
        // Pinned values: seeds built with HashCode.Combine (randomised per process) made --seed runs irreproducible.
        var row = new RecallCorpus(Vocab, 12, 1, seed: 7).Row(0).Tokens;
        Assert.Equal("k46 v24 SEP k60 v23 SEP Q k46 v24 k55 v0 SEP", Vocab.Describe(row));
        var grid = new NeedleGrid(Vocab, [16], [50.0], 1, seed: 11);
        Assert.Equal("v49 SEP k33 v24 SEP k50 v54 SEP k7 v16 SEP k61 v59 SEP Q k7", Vocab.Describe(grid.Cell(0, 0)[0].Prompt));
    }

    [Fact]
    public void Each_row_binds_keys_to_fresh_values_so_no_association_carries_across_rows()
    {
        var corpus = new RecallCorpus(Vocab, 1024, 1, seed: 3);
        var valuesPerKey = new Dictionary<long, HashSet<long>>();
        for (var row = 0; row < 50; row++)
        {
            var (t, _) = corpus.Row(row);
            for (var i = 0; i + 2 < t.Length; i++)
                if (Vocab.IsKey(t[i]) && t[i + 2] == RecallVocabulary.Sep && (i == 0 || t[i - 1] != RecallVocabulary.Query))
                    (valuesPerKey.TryGetValue(t[i], out var set) ? set : valuesPerKey[t[i]] = []).Add(t[i + 1]);
        }
        Assert.Equal(Vocab.KeyCount, valuesPerKey.Count);
        // One value per key per row, drawn afresh: 50 rows give each key ~35 of the 64 values.
        Assert.All(valuesPerKey.Values, set => Assert.True(set.Count > 20, $"only {set.Count} distinct values"));
    }

    [Fact]
    public void Needles_come_from_their_own_stream_and_never_repeat_a_training_row()
    {
        // Even with the same seed number, evaluation prompts and training rows are different streams.
        var grid = new NeedleGrid(Vocab, [128], [0, 50, 100], samplesPerCell: 20, seed: 42);
        var rows = new RecallCorpus(Vocab, 128, 1, seed: 42);
        var training = Enumerable.Range(0, 2000).Select(i => string.Join(',', rows.Row(i).Tokens[..30])).ToHashSet();
        var needles = new List<(long Key, long Value)>();
        for (var d = 0; d < 3; d++)
            foreach (var c in grid.Cell(0, d))
            {
                Assert.DoesNotContain(string.Join(',', c.Prompt[..30]), training);
                needles.Add((c.NeedleKey, c.Answer));
            }
        // Needle keys and values vary across prompts: no fixed needle the model could have memorised.
        Assert.True(needles.Select(n => n.Key).Distinct().Count() > 30);
        Assert.True(needles.Select(n => n.Value).Distinct().Count() > 30);
    }

    [Fact]
    public void Labels_mark_exactly_the_recallable_positions_with_the_rows_value_for_that_key()
    {
        var corpus = new RecallCorpus(Vocab, 512, 1, seed: 11);
        int queries = 0, repeats = 0;
        for (var row = 0; row < 20; row++)
        {
            var (t, labels) = corpus.Row(row);
            var value = new Dictionary<long, long>();
            for (var i = 0; i + 1 < t.Length; i++)
            {
                var isQuery = i >= 1 && t[i - 1] == RecallVocabulary.Query;
                if (Vocab.IsKey(t[i]) && value.TryGetValue(t[i], out var v))
                {
                    Assert.Equal(v, labels[i]);
                    Assert.Equal(v, t[i + 1]);   // one value per key within a row
                    if (isQuery) queries++; else repeats++;
                }
                else
                {
                    Assert.False(isQuery, "a query must ask about a key seen earlier in the row");
                    Assert.Equal(TrainingBatch.IgnoreIndex, labels[i]);
                    if (Vocab.IsKey(t[i])) value[t[i]] = t[i + 1];
                }
            }
        }
        Assert.True(queries > 20 * 20 && repeats > 20 * 20, $"{queries} queries, {repeats} repeated records");
    }

    [Fact]
    public void Needle_prompts_have_the_exact_length_the_needle_once_at_its_depth_and_the_question_last()
    {
        int[] lengths = [64, 128, 257];
        double[] depths = [0, 50, 100];
        var grid = new NeedleGrid(Vocab, lengths, depths, samplesPerCell: 6, seed: 5);
        for (var l = 0; l < lengths.Length; l++)
        {
            var positions = new List<double>();
            for (var d = 0; d < depths.Length; d++)
                foreach (var c in grid.Cell(l, d))
                {
                    var p = c.Prompt;
                    Assert.Equal(lengths[l], p.Length);
                    Assert.Equal(RecallVocabulary.Query, p[^2]);
                    Assert.Equal(c.NeedleKey, p[^1]);
                    Assert.Equal([c.NeedleKey, c.Answer, RecallVocabulary.Sep], p[c.NeedlePosition..(c.NeedlePosition + 3)]);
                    Assert.Equal(1, p[..^1].Count(t => t == c.NeedleKey));
                    positions.Add(c.NeedlePosition);
                }
            var perDepth = positions.Chunk(6).Select(ch => ch.Average()).ToArray();
            Assert.True(perDepth[0] <= 2 && perDepth[1] > perDepth[0] && perDepth[2] == lengths[l] - 5, string.Join(", ", perDepth));
        }
    }

    [Fact]
    public void Needle_prompts_are_deterministic_per_seed()
    {
        var a = new NeedleGrid(Vocab, [128], [50], 3, seed: 1).Cell(0, 0);
        var b = new NeedleGrid(Vocab, [128], [50], 3, seed: 1).Cell(0, 0);
        var c = new NeedleGrid(Vocab, [128], [50], 3, seed: 2).Cell(0, 0);
        Assert.Equal(a.Select(x => x.Prompt), b.Select(x => x.Prompt));
        Assert.NotEqual(a[0].Prompt, c[0].Prompt);
    }
}
