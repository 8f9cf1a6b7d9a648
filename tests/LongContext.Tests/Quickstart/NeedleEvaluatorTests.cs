using LongContext.Training.Quickstart;

namespace LongContext.Tests.Quickstart;

public class NeedleEvaluatorTests
{
    private static readonly RecallVocabulary Vocab = new();

    /// <summary>Looks back at most <paramref name="window"/> tokens for the pair with the asked key.</summary>
    private static Func<IReadOnlyList<long[]>, long[]> Oracle(int window) => prompts => prompts.Select(p =>
    {
        var key = Vocab.KeyOf(p[^1]);
        for (var i = p.Length - 2; i >= Math.Max(0, p.Length - 1 - window); i--)
            if (Vocab.IsPair(p[i]) && Vocab.KeyOf(p[i]) == key) return p[i];
        return (long)RecallVocabulary.Pad;
    }).ToArray();

    [Fact]
    public void A_perfect_oracle_scores_100_in_every_cell()
    {
        var grid = new NeedleGrid(Vocab, [64, 128, 256], [0, 50, 100], 5, seed: 9);
        var result = NeedleEvaluator.Score(grid, Oracle(int.MaxValue));
        Assert.All(result.ByLength(), a => Assert.Equal(100, a));
    }

    [Fact]
    public void A_short_sighted_oracle_passes_near_needles_and_fails_far_ones_in_the_right_cells()
    {
        int[] lengths = [64, 512];
        double[] depths = [0, 100];
        var grid = new NeedleGrid(Vocab, lengths, depths, 4, seed: 9);
        var result = NeedleEvaluator.Score(grid, Oracle(100));
        // Accuracy[depth, length]: the needle at depth 100% sits right before the question, at 0% at the start.
        Assert.Equal(100, result.Accuracy[0, 0]);   // 64 tokens: everything within reach
        Assert.Equal(100, result.Accuracy[1, 0]);
        Assert.Equal(0, result.Accuracy[0, 1]);     // 512 tokens, needle at the start: out of reach
        Assert.Equal(100, result.Accuracy[1, 1]);
        Assert.Equal(50, result.AtLength(512));
    }

    [Fact]
    public void Progress_counts_every_cell_and_a_wrong_sized_answer_is_an_error()
    {
        var grid = new NeedleGrid(Vocab, [32, 64], [0, 50, 100], 2, seed: 1);
        var seen = new List<int>();
        NeedleEvaluator.Score(grid, Oracle(1000), new InlineProgress(seen.Add));
        Assert.Equal(Enumerable.Range(1, 6), seen);
        Assert.Throws<InvalidOperationException>(() => NeedleEvaluator.Score(grid, _ => [1]));
    }

    private sealed class InlineProgress(Action<int> a) : IProgress<int>
    {
        public void Report(int value) => a(value);
    }
}
