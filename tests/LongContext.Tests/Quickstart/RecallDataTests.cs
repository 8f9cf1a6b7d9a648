using LongContext.Training.Data;
using LongContext.Training.Quickstart;

namespace LongContext.Tests.Quickstart;

public class RecallDataTests
{
    private static readonly RecallVocabulary Vocab = new();

    [Fact]
    public void Vocabulary_maps_pairs_and_queries_to_distinct_tokens_and_back()
    {
        var seen = new HashSet<long> { RecallVocabulary.Pad };
        for (var k = 0; k < Vocab.KeyCount; k++)
        {
            Assert.True(seen.Add(Vocab.QueryFor(k)));
            Assert.True(Vocab.IsQuery(Vocab.QueryFor(k)) && !Vocab.IsPair(Vocab.QueryFor(k)));
            Assert.Equal(k, Vocab.KeyOf(Vocab.QueryFor(k)));
            for (var v = 0; v < Vocab.ValueCount; v++)
            {
                var t = Vocab.Pair(k, v);
                Assert.True(seen.Add(t));
                Assert.True(Vocab.IsPair(t) && !Vocab.IsQuery(t));
                Assert.Equal((k, v), (Vocab.KeyOf(t), Vocab.ValueOf(t)));
            }
        }
        Assert.Equal(Vocab.Size, seen.Count);
        Assert.Equal(seen.Max() + 1, Vocab.Size);
    }

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
        Assert.Equal("k20=v6 k21=v3 k12=v3 k21=v3 Q21 Q12 k1=v3 k9=v4 k18=v3 Q18 Q9 k9=v4", Vocab.Describe(row));
        var grid = new NeedleGrid(Vocab, [12], [50.0], 1, seed: 11);
        Assert.Equal("k11=v4 k2=v6 k5=v7 k11=v4 k0=v7 k12=v4 k20=v7 k20=v7 k6=v7 k6=v7 k17=v4 Q12", Vocab.Describe(grid.Cell(0, 0)[0].Prompt));
    }

    [Fact]
    public void Each_row_binds_keys_to_fresh_values_so_no_association_carries_across_rows()
    {
        var corpus = new RecallCorpus(Vocab, 512, 1, seed: 3);
        var valuesPerKey = new Dictionary<int, HashSet<int>>();
        for (var row = 0; row < 50; row++)
        {
            var (t, _) = corpus.Row(row);
            var inRow = t.Where(Vocab.IsPair).GroupBy(Vocab.KeyOf).ToArray();
            Assert.All(inRow, g => Assert.Single(g.Select(Vocab.ValueOf).Distinct()));   // one value per key within a row
            foreach (var g in inRow)
                (valuesPerKey.TryGetValue(g.Key, out var set) ? set : valuesPerKey[g.Key] = []).Add(Vocab.ValueOf(g.First()));
        }
        Assert.Equal(Vocab.KeyCount, valuesPerKey.Count);
        // Drawn afresh per row: over 50 rows every key takes (nearly) all 8 values.
        Assert.All(valuesPerKey.Values, set => Assert.True(set.Count >= 6, $"only {set.Count} distinct values"));
    }

    [Fact]
    public void Needles_come_from_their_own_stream_and_never_repeat_a_training_row()
    {
        // Even with the same seed number, evaluation prompts and training rows are different streams.
        var grid = new NeedleGrid(Vocab, [128], [0, 50, 100], samplesPerCell: 20, seed: 42);
        var rows = new RecallCorpus(Vocab, 128, 1, seed: 42);
        var training = Enumerable.Range(0, 2000).Select(i => string.Join(',', rows.Row(i).Tokens[..30])).ToHashSet();
        var needles = new List<long>();
        for (var d = 0; d < 3; d++)
            foreach (var c in grid.Cell(0, d))
            {
                Assert.DoesNotContain(string.Join(',', c.Prompt[..30]), training);
                needles.Add(c.Answer);
            }
        // Needle keys and values vary across prompts: no fixed needle the model could have memorised.
        Assert.True(needles.Distinct().Count() > 30, $"{needles.Distinct().Count()} distinct needles");
        Assert.True(needles.Select(Vocab.KeyOf).Distinct().Count() > 15);
        Assert.Equal(Vocab.ValueCount, needles.Select(Vocab.ValueOf).Distinct().Count());
    }

    [Fact]
    public void Labels_sit_exactly_on_queries_with_the_rows_pair_for_that_key()
    {
        var corpus = new RecallCorpus(Vocab, 512, 1, seed: 11);
        var queries = 0;
        for (var row = 0; row < 20; row++)
        {
            var (t, labels) = corpus.Row(row);
            var pairOf = new Dictionary<int, long>();
            for (var i = 0; i < t.Length; i++)
            {
                if (Vocab.IsQuery(t[i]))
                {
                    Assert.True(pairOf.TryGetValue(Vocab.KeyOf(t[i]), out var pair), "a query must ask about a key seen earlier in the row");
                    Assert.Equal(pair, labels[i]);
                    queries++;
                }
                else
                {
                    Assert.True(Vocab.IsPair(t[i]));
                    Assert.Equal(TrainingBatch.IgnoreIndex, labels[i]);
                    pairOf[Vocab.KeyOf(t[i])] = t[i];
                }
            }
        }
        // Query rate 0.4: about 200 of 512 positions.
        Assert.InRange(queries / 20.0, 150, 250);
    }

    [Fact]
    public void Needle_prompts_have_the_exact_length_the_needle_key_once_at_its_depth_and_the_question_last()
    {
        int[] lengths = [64, 128, 257];
        double[] depths = [0, 50, 100];
        var grid = new NeedleGrid(Vocab, lengths, depths, samplesPerCell: 6, seed: 5);
        for (var l = 0; l < lengths.Length; l++)
            for (var d = 0; d < depths.Length; d++)
                foreach (var c in grid.Cell(l, d))
                {
                    var p = c.Prompt;
                    Assert.Equal(lengths[l], p.Length);
                    Assert.True(Vocab.IsQuery(c.Question));
                    Assert.Equal(c.Question, p[^1]);
                    Assert.Equal(c.Answer, p[c.NeedlePosition]);
                    Assert.Equal(Vocab.KeyOf(c.Question), Vocab.KeyOf(c.Answer));
                    Assert.All(p[..^1], t => Assert.True(Vocab.IsPair(t)));
                    Assert.Equal(1, p[..^1].Count(t => Vocab.KeyOf(t) == Vocab.KeyOf(c.Question)));
                    var expected = depths[d] switch { 0 => 0, 100 => lengths[l] - 2, _ => (int)Math.Round((lengths[l] - 2) / 2.0, MidpointRounding.AwayFromZero) };
                    Assert.Equal(expected, c.NeedlePosition);
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
