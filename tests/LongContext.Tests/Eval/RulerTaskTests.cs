using LongContext.Eval.Backends;
using LongContext.Eval.Ruler;
using LongContext.Eval.Scoring;

namespace LongContext.Tests.Eval;

public class RulerTaskTests
{
    public static TheoryData<string> AllTasks() => new(RulerTask.DefaultTaskNames);

    [Theory]
    [MemberData(nameof(AllTasks))]
    public void Generated_prompt_fits_the_budget_tightly_and_contains_its_answers(string name)
    {
        var tok = new RegexWordTokenizer();
        var measurer = EvalFixtures.Measurer(tok, LongContext.Eval.Backends.ChatTemplates.Llama3);
        var task = RulerTask.Create(name, EvalFixtures.AllData());
        const int length = 4096;
        for (var i = 0; i < 2; i++)
        {
            var s = task.Generate(length, i, seed: 42, measurer);
            var total = tok.Encode(measurer.Render(s.Request()), addSpecialTokens: false).Count;
            Assert.Equal(total, s.PromptTokens);
            Assert.True(total + s.MaxNewTokens <= length, $"{name}: {total} + {s.MaxNewTokens} > {length}");
            // RULER's own steps bound the fill: a sample that does not fit backs off 500 essay words (~15% at 4K) or 25
            // needles (~35% at 4K: RULER's own niah_multikey_3 sample fills 63%), FWE searches in steps of length/32
            // words; RulerParityTests compares each task's fill with RULER's.
            var floor = name is "niah_multikey_2" or "niah_multikey_3" ? 0.6 : 0.8;
            Assert.True(total + s.MaxNewTokens > length * floor, $"{name}: only {total} tokens used of {length}");
            Assert.NotEmpty(s.Outputs);
            if (s.Metric == MatchMetric.All)
                foreach (var o in s.Outputs) Assert.Contains(o, s.Input);
            else
                Assert.Contains(s.Outputs, o => s.Input.Contains(o, StringComparison.OrdinalIgnoreCase));
            Assert.Equal(100, Scorers.Match(s.Metric, string.Join(" ", s.Outputs), s.Outputs));
        }
    }

    [Theory]
    [MemberData(nameof(AllTasks))]
    public void Generation_is_deterministic_for_a_seed_and_varies_across_samples(string name)
    {
        var data = EvalFixtures.AllData();
        var m = EvalFixtures.Measurer(new RegexWordTokenizer());
        var a = RulerTask.Create(name, data).Generate(1024, 1, 7, m);
        var b = RulerTask.Create(name, data).Generate(1024, 1, 7, m);
        Assert.Equal(a.Input, b.Input);
        Assert.Equal(a.Outputs, b.Outputs);
        var c = RulerTask.Create(name, data).Generate(1024, 2, 7, m);
        Assert.NotEqual(a.Input, c.Input);
    }

    [Fact]
    public void Single_needle_tasks_use_the_singular_template_and_multi_value_the_plural()
    {
        var m = EvalFixtures.Measurer(new RegexWordTokenizer());
        var single = RulerTask.Create("niah_single_1", EvalFixtures.AllData()).Generate(1024, 0, 42, m);
        Assert.StartsWith("A special magic number is hidden within the following text.", single.Input);
        Assert.StartsWith(" The special magic number for ", single.AnswerPrefix);
        Assert.EndsWith(" mentioned in the provided text is", single.AnswerPrefix);
        Assert.Contains("One of the special magic numbers for ", single.Input);
        Assert.Matches(@"^\d{7}$", single.Outputs[0]);

        var multi = RulerTask.Create("niah_multivalue", EvalFixtures.AllData()).Generate(1024, 0, 42, m);
        Assert.StartsWith("Some special magic numbers are hidden", multi.Input);
        Assert.Equal(4, multi.Outputs.Count);

        var uuid = RulerTask.Create("niah_multikey_3", EvalFixtures.AllData()).Generate(1024, 0, 42, m);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", uuid.Outputs[0]);
        Assert.Contains("special magic uuid for ", uuid.AnswerPrefix);
    }

    [Fact]
    public void Tasks_without_their_data_are_skipped_and_generated_words_are_non_comparable()
    {
        var data = RulerData.Load(null, null, null, null);
        var status = RulerTask.DefaultTaskNames.ToDictionary(t => t, t => RulerTask.Create(t, data).Status);
        foreach (var t in new[] { "niah_single_2", "niah_single_3", "niah_multikey_1", "niah_multivalue", "niah_multiquery", "qa_1", "qa_2" })
            Assert.False(status[t].Available, t);
        Assert.True(status["vt"].Available && status["vt"].Comparable);
        Assert.True(status["fwe"].Comparable);
        Assert.False(status["cwe"].Comparable);
        Assert.False(status["niah_single_1"].Comparable);
        Assert.True(status["niah_multikey_3"].Comparable); // uuid keys need no word list
        Assert.Throws<LongContext.Eval.EvalException>(() => RulerTask.Create("qa_1", data).Generate(4096, 0, 42, EvalFixtures.Measurer(new TestTokenizer())));
    }

    [Fact]
    public void Length_fitter_finds_the_largest_size_that_fits()
    {
        Assert.Equal(97, LengthFitter.Fit(n => 3 + n, 100, incremental: 5));
        Assert.Equal(0, LengthFitter.Fit(n => 500 + n, 100, incremental: 5));
        Assert.Equal(4950, LengthFitter.Fit(n => 100 + n, 5050, incremental: 1));
    }
}
