using LongContext.Training.Quickstart;

namespace LongContext.Tests.Quickstart;

/// <summary>The report must say what θ alone did and must not credit the brief training with an effect it did not have.</summary>
public class ReportTextTests
{
    private static QuickstartResult Result(double thetaOnly, double afterAtExtended)
    {
        var o = QuickstartOptions.Default;
        var vocab = new RecallVocabulary { KeyCount = o.KeyCount, ValueCount = o.ValueCount };
        var config = QuickstartRunner.ModelConfigFor(o, vocab);
        int[] lengths = [128, 1024];
        double[] depths = [0, 100];
        NeedleGridResult Grid(double atL0, double atLx) => new(lengths, depths, new[,] { { atL0, atLx }, { atL0, atLx } }, 20);
        var run = new TrainingRun(10, [1.0, 0.5], 1, false, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), "test");
        return new QuickstartResult
        {
            Options = o,
            Vocabulary = vocab,
            BaseConfig = config,
            ExtendedConfig = config with { Rope = config.Rope with { RopeTheta = 5e6 } },
            Parameters = 1000,
            Threads = 2,
            Pretrain = run,
            Before = Grid(100, 30),
            ThetaOnlyAccuracyAtExtended = thetaOnly,
            Extend = run,
            After = Grid(100, afterAtExtended),
            EvalWall = TimeSpan.FromSeconds(1),
            EvalCpu = TimeSpan.FromSeconds(1),
            TotalWall = TimeSpan.FromSeconds(5),
            TotalCpu = TimeSpan.FromSeconds(9),
        };
    }

    [Fact]
    public void When_theta_alone_already_gives_full_accuracy_the_report_says_training_added_nothing_measurable()
    {
        var text = QuickstartReport.Markdown(Result(thetaOnly: 100, afterAtExtended: 100));
        Assert.Contains("**θ alone** (raised, no training yet) gave 100% at 1024 tokens", text);
        Assert.Contains("the larger θ alone already recovers full accuracy; the brief training adds nothing measurable", text);
        Assert.DoesNotContain("consolidates", text);
    }

    [Fact]
    public void When_training_adds_accuracy_after_theta_the_report_credits_both_steps_with_their_numbers()
    {
        var text = QuickstartReport.Markdown(Result(thetaOnly: 80, afterAtExtended: 98));
        Assert.Contains("raising θ already recovers most of the accuracy; the brief training consolidates it (80% → 98%)", text);
        Assert.Contains("the context was extended ×8", text);
        Assert.Contains("drops as low as 30% beyond", text);
    }

    [Fact]
    public void A_run_short_of_the_target_is_not_reported_as_an_extension()
    {
        var text = QuickstartReport.Markdown(Result(thetaOnly: 32, afterAtExtended: 45));
        Assert.DoesNotContain("the context was extended", text);
        Assert.Contains("not a clear improvement", text);
        Assert.Contains("θ alone recovers less than half of the gain; the brief training does most of the work (32% → 45%)", text);
    }
}
