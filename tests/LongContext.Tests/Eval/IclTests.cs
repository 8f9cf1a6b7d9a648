using LongContext.Eval.Backends;
using LongContext.Eval.Icl;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

public class IclTests
{
    private sealed class NoBackend : IGenerationBackend
    {
        public string Describe => "none";
        public PrefixPlacement PrefixPlacement => PrefixPlacement.UserMessageEnd;
        public Task<GenerationResult> GenerateAsync(GenerationRequest req, CancellationToken ct) => throw new NotSupportedException();
    }

    private static EvalSession Session() => new(new NoBackend(), EvalFixtures.Measurer(new RegexWordTokenizer(), placement: PrefixPlacement.UserMessageEnd), "t");

    public static TheoryData<string> Tasks() => new("word_label", "hidden_arith", "tsv");

    [Theory]
    [MemberData(nameof(Tasks))]
    public void No_query_appears_in_its_own_prompt_and_shots_are_drawn_without_replacement(string task)
    {
        if (task == "tsv")
        {
            var file = Path.Combine(EvalFixtures.TempDir("icl-tsv"), "banking.tsv");
            var rng = new Random(3);
            File.WriteAllLines(file, ["label\ttext", .. Enumerable.Range(0, 400).Select(i => $"intent_{i % 7}\tplease help with request number {i} of kind {rng.Next(100)}")]);
            task = file;
        }
        var options = new IclOptions { Task = task, Shots = [16, 128], Queries = 20, Seeds = 3, MaxLength = 1 << 20 };
        var (manifest, plans) = IclSuite.Plan(options, Session());
        Assert.Equal(2 * 20 * 3, plans.Count);
        var shotSets = new Dictionary<(int, string), string>();
        foreach (var plan in plans)
        {
            var item = plan.Build();
            var prompt = item.Request.Messages![0].Content!;
            var query = prompt[(prompt.LastIndexOf("Input: ", StringComparison.Ordinal) + 7)..];
            var shots = prompt.Split("\n\n").Where(b => b.StartsWith("Input: ", StringComparison.Ordinal) && b.Contains("\nLabel: ")).ToList();
            Assert.Equal(plan.Length, shots.Count);
            Assert.DoesNotContain(shots, s => s.StartsWith($"Input: {query}\n", StringComparison.Ordinal));   // held out of the pool
            Assert.Equal(shots.Count, shots.Distinct().Count());                                          // without replacement
            shotSets[(plan.Length, plan.Index)] = string.Join("|", shots);
        }
        // The draws differ: seeds s0, s1, s2 give other shots for the same query.
        Assert.NotEqual(shotSets[(128, "s0q0")], shotSets[(128, "s1q0")]);
        Assert.Contains("held-out queries × 3 draws", manifest.Tasks[0].Note);
    }

    [Fact]
    public void Classification_files_load_as_tsv_or_jsonl_and_bad_lines_name_the_line()
    {
        var dir = EvalFixtures.TempDir("icl-files");
        var jsonl = Path.Combine(dir, "trec.jsonl");
        File.WriteAllLines(jsonl, Enumerable.Range(0, 60).Select(i => $"{{\"label\": {i % 6}, \"text\": \"What is question {i}?\"}}"));
        var data = IclData.Load(jsonl, 10, 1);
        Assert.Equal(10, data.Queries.Count);
        Assert.Equal(50, data.Pool.Count);
        Assert.Equal(6, data.Labels);
        Assert.Empty(data.Queries.Select(q => q.Input).Intersect(data.Pool.Select(p => p.Input)));

        var test = Path.Combine(dir, "test.tsv");
        File.WriteAllLines(test, ["3\tWhat is question 5?", "4\tA brand new question?"]);
        var split = IclData.Load(jsonl, 10, 1, test);
        Assert.Equal(2, split.Queries.Count);
        Assert.DoesNotContain(split.Pool, p => p.Input == "What is question 5?");   // a test query is removed from the pool

        var bad = Path.Combine(dir, "bad.tsv");
        File.WriteAllLines(bad, ["a\tok", "no tab here"]);
        var e = Assert.Throws<LongContext.Eval.EvalException>(() => IclData.Load(bad, 1, 1));
        Assert.Contains("bad.tsv:2", e.Message);
    }
}
