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
    public void Training_rows_never_contain_a_reserved_evaluation_pair()
    {
        var corpus = new RecallCorpus(Vocab, 1024, 1, seed: 3);
        var pairs = 0;
        for (var row = 0; row < 200; row++)
        {
            var (tokens, _) = corpus.Row(row);
            for (var i = 0; i + 1 < tokens.Length; i++)
            {
                if (!Vocab.IsKey(tokens[i]) || !Vocab.IsValue(tokens[i + 1])) continue;
                pairs++;
                Assert.False(Vocab.IsEvalPair(Vocab.KeyIndex(tokens[i]), Vocab.ValueIndex(tokens[i + 1])),
                    $"row {row} position {i}: {Vocab.Describe(tokens[i..(i + 2)])} is reserved for evaluation");
            }
        }
        Assert.True(pairs > 50_000);
    }

    [Fact]
    public void Query_labels_are_the_value_of_the_latest_record_with_that_key()
    {
        var corpus = new RecallCorpus(Vocab, 512, 1, seed: 11);
        var labelled = 0;
        for (var row = 0; row < 20; row++)
        {
            var (t, labels) = corpus.Row(row);
            var latest = new Dictionary<long, long>();
            for (var i = 0; i < t.Length; i++)
            {
                if (i >= 1 && t[i - 1] == RecallVocabulary.Query)
                {
                    Assert.True(Vocab.IsKey(t[i]));
                    Assert.Equal(latest[t[i]], labels[i]);
                    labelled++;
                }
                else
                {
                    Assert.Equal(TrainingBatch.IgnoreIndex, labels[i]);
                    if (Vocab.IsKey(t[i]) && i + 1 < t.Length && (i == 0 || t[i - 1] != RecallVocabulary.Query)) latest[t[i]] = t[i + 1];
                }
            }
        }
        Assert.True(labelled > 20 * 20);
    }

    [Fact]
    public void Needle_prompts_have_the_exact_length_a_reserved_needle_at_its_depth_and_the_question_last()
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
                    Assert.True(Vocab.IsEvalPair(Vocab.KeyIndex(c.NeedleKey), Vocab.ValueIndex(c.Answer)));
                    Assert.Equal(1, p[..^1].Count(t => t == c.NeedleKey));
                    // Every other key-value pair is an ordinary (trainable) pair.
                    for (var i = 0; i + 1 < p.Length - 2; i++)
                        if (i != c.NeedlePosition && Vocab.IsKey(p[i]) && Vocab.IsValue(p[i + 1]))
                            Assert.False(Vocab.IsEvalPair(Vocab.KeyIndex(p[i]), Vocab.ValueIndex(p[i + 1])));
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
