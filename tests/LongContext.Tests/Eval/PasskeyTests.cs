using System.Text.RegularExpressions;
using LongContext.Eval.Backends;
using LongContext.Eval.Passkey;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

public class PasskeyTests
{
    /// <summary>Answers like a model that reads the key, except in the middle third of prompts over 6,000 characters.</summary>
    internal sealed class PasskeyReader : IGenerationBackend
    {
        public int Calls;
        public string Describe => "passkey-reader";
        public PrefixPlacement PrefixPlacement => PrefixPlacement.AssistantTurn;

        public Task<GenerationResult> GenerateAsync(GenerationRequest req, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            Assert.NotNull(req.Prompt);                                   // raw completion, never chat turns
            return Task.FromResult(new GenerationResult(Answer(req.Prompt!), PrefixPlacement));
        }

        public static string Answer(string prompt)
        {
            var m = Regex.Match(prompt, @"The pass key is (\d+)\. Remember it\.");
            var frac = m.Index / (double)prompt.Length;
            return prompt.Length > 6000 && frac is > 0.33 and < 0.66 ? " 7. Remember it." : $" {m.Groups[1].Value}. Remember it. {m.Groups[1].Value} is";
        }
    }

    static EvalSession Session(IGenerationBackend backend, TestTokenizer tok) =>
        new(backend, new PromptMeasurer(tok, LongContext.Eval.Backends.ChatTemplates.Base, PrefixPlacement.AssistantTurn), "test-tokenizer");

    [Fact]
    public void Prompt_is_the_landmark_format_with_both_filler_parts_cut_from_the_start_of_the_repeated_filler()
    {
        var filler = string.Join(' ', Enumerable.Repeat(PasskeyPrompt.Filler, 4));
        var prompt = PasskeyPrompt.Build(200, 25, "4321");
        var expected = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.\n"
            + filler[..50] + "\n"
            + "The pass key is 4321. Remember it. 4321 is the pass key.\n"
            + filler[..150] + "\n"
            + "What is the pass key? The pass key is";
        Assert.Equal(expected, prompt);
        Assert.StartsWith("The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. The grass", filler[..150] + "");
        Assert.EndsWith("\n\nWhat is the pass key? The pass key is", PasskeyPrompt.Build(100, 100, "1"));  // depth 100: the key line, then no filler
    }

    [Theory]
    [InlineData(" 12345. Remember it.", "12345", true)]
    [InlineData("12345", "12345", true)]
    [InlineData(" 012345 is it", "12345", true)]            // int() equality, as YaRN's check
    [InlineData(" 1234. 12345", "12345", false)]           // only the first number counts
    [InlineData(" 123456", "12345", false)]                // exact, not a prefix or substring
    [InlineData(" twelve thousand", "12345", false)]
    [InlineData("<think>12345</think> 54321", "54321", true)]
    public void Score_is_exact_match_of_the_first_number_in_the_continuation(string prediction, string key, bool correct) =>
        Assert.Equal(correct, PasskeySuite.IsCorrect(PasskeySuite.FirstNumber(prediction), key));

    [Fact]
    public void Keys_follow_landmark_range_or_the_requested_digits()
    {
        var rng = new Random(1);
        var keys = Enumerable.Range(0, 2000).Select(_ => int.Parse(PasskeySuite.DrawKey(rng, null))).ToList();
        Assert.InRange(keys.Min(), 1, 200);
        Assert.InRange(keys.Max(), 49_800, 50_000);
        Assert.All(Enumerable.Range(0, 200).Select(_ => PasskeySuite.DrawKey(rng, 7)), k => Assert.Matches("^[1-9][0-9]{6}$", k));
    }

    [Fact]
    public void Prompts_fill_each_length_with_the_model_tokenizer_and_put_the_key_at_its_depth()
    {
        var tok = new TestTokenizer();
        var (manifest, plans) = PasskeySuite.Plan(new PasskeyOptions { Lengths = [512, 2048], DepthCount = 5, Samples = 2 }, Session(new PasskeyReader(), tok));
        Assert.Equal(2 * 5 * 2, plans.Count);
        Assert.Equal([0, 25, 50, 75, 100], manifest.Depths!);
        Assert.Equal(PasskeySuite.Placement, manifest.PrefixPlacement);
        foreach (var plan in plans)
        {
            var item = plan.Build();
            var prompt = item.Request.Prompt!;
            Assert.Null(item.Request.Messages);
            Assert.Equal(tok.Encode(prompt).Count, item.PromptTokens);
            Assert.InRange(item.PromptTokens + 10, plan.Length - 40, plan.Length);     // fitted to the budget within one back-off step
            var key = item.References.Single();
            var filler = prompt.IndexOf('\n') + 1;
            var keyAt = prompt.IndexOf("\nThe pass key is " + key, StringComparison.Ordinal);
            var fillerChars = prompt.Length - filler - PasskeyPrompt.InformationLine(key).Length - PasskeyPrompt.FinalQuestion.Length - 3;
            Assert.Equal(Math.Floor(plan.Depth!.Value / 100 * fillerChars), keyAt - filler);
        }
        // Same seed, same prompts; another seed, other keys.
        var again = PasskeySuite.Plan(new PasskeyOptions { Lengths = [512, 2048], DepthCount = 5, Samples = 2 }, Session(new PasskeyReader(), tok)).Plans;
        Assert.Equal(plans.Select(p => p.Build().PromptText), again.Select(p => p.Build().PromptText));
        var other = PasskeySuite.Plan(new PasskeyOptions { Lengths = [512, 2048], DepthCount = 5, Samples = 2, Seed = 7 }, Session(new PasskeyReader(), tok)).Plans;
        Assert.NotEqual(plans.Select(p => p.Build().References[0]), other.Select(p => p.Build().References[0]));
    }

    [Fact]
    public async Task Run_scores_per_cell_writes_the_heatmap_and_resumes_without_generating_again()
    {
        var tok = new TestTokenizer();
        var backend = new PasskeyReader();
        var dir = EvalFixtures.TempDir("passkey-run");
        var options = new PasskeyOptions { Lengths = [512, 4096], DepthCount = 3, Samples = 2 };
        var (manifest, plans) = PasskeySuite.Plan(options, Session(backend, tok));
        manifest.Write(dir);
        var outcome = await new EvalRunner(backend, new ResultStore(dir), manifest.ConfigHash, 2).RunAsync(plans, null, default);
        Assert.Equal(12, outcome.Completed);
        var records = ResultStore.Read(dir);
        Assert.All(records, r => Assert.Equal(r.References[0], r.Details!["key"]!.GetValue<string>()));
        Assert.All(records.Where(r => r.Length == 512), r => Assert.Equal(100, r.Score));
        Assert.All(records.Where(r => r.Length == 4096 && r.Depth == 50), r => { Assert.Equal(0, r.Score); Assert.Equal("7", r.Details!["found"]!.GetValue<string>()); });

        var summary = RunReport.Write(dir);
        Assert.Equal(100, summary["per_length"]!["512"]!.GetValue<double>());
        Assert.Equal(66.67, summary["per_length"]!["4096"]!.GetValue<double>());
        var cell = summary["cells"]!.AsArray().Single(c => c!["length"]!.GetValue<int>() == 4096 && c["depth"]!.GetValue<double>() == 50)!;
        Assert.Equal(0, cell["score"]!.GetValue<double>());
        Assert.Equal(2, cell["n"]!.GetValue<int>());
        Assert.True(new FileInfo(Path.Combine(dir, "passkey_heatmap.png")).Length > 1000);
        Assert.Contains("| depth \\ length | 512 | 4K |", File.ReadAllText(Path.Combine(dir, "report.md")));

        var again = await new EvalRunner(backend, new ResultStore(dir), manifest.ConfigHash, 2).RunAsync(plans, null, default);
        Assert.Equal(12, again.Skipped);
        Assert.Equal(12, backend.Calls);
    }
}
