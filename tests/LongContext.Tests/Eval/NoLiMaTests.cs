using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LongContext.Eval;
using LongContext.Eval.NoLiMa;
using LongContext.Eval.Text;

namespace LongContext.Tests.Eval;

public class NoLiMaTests
{
    internal static readonly string[] Characters = ["Yuki", "Stuart", "Katie", "Veronica", "Gary", "Megan", "Calvin", "Mandy", "Diana", "Caleb"];

    /// <summary>
    /// A tiny copy of NoLiMa's data layout: needlesets/needle_set.json (a {CHAR} entry with two question types, and an
    /// entry with gold answers whose question type is "direct") and two haystack books of numbered lines.
    /// </summary>
    internal static string WriteData(int lines = 400)
    {
        var dir = EvalFixtures.TempDir("nolima-data");
        Directory.CreateDirectory(Path.Combine(dir, "needlesets"));
        var books = Path.Combine(dir, "haystack", "rand_shuffle");
        Directory.CreateDirectory(books);
        var set = new JsonArray(
            new JsonObject
            {
                ["id"] = "0401", ["needle"] = "Actually, {CHAR} lives next to {1}.", ["system_prompt"] = "ignored",
                ["questions"] = new JsonObject { ["onehop"] = "Which character has been to {2}?", ["twohop"] = "Which character has been to {3}?" },
                ["character_set"] = new JsonArray(Characters.Select(c => (JsonNode?)c).ToArray()),
                ["tests"] = new JsonObject { ["T17_C02"] = new JsonObject { ["input_args"] = new JsonArray("the Kiasma museum", "Helsinki", "Uusimaa") } },
            },
            new JsonObject
            {
                ["id"] = "0502", ["needle"] = "The harbour pass word was {1}.", ["system_prompt"] = "",
                ["questions"] = new JsonObject { ["direct"] = "What was the harbour pass word?" },
                ["tests"] = new JsonObject { ["T01"] = new JsonObject { ["input_args"] = new JsonArray("marigold"), ["gold_answers"] = new JsonArray("marigold") } },
            });
        File.WriteAllText(Path.Combine(dir, "needlesets", "needle_set.json"), set.ToJsonString());
        for (var b = 1; b <= 2; b++)
            File.WriteAllLines(Path.Combine(books, $"rand_book_{b}.txt"), Enumerable.Range(0, lines).Select(i => $"Line {i} of book {b} tells of rain and quiet roads."));
        return dir;
    }

    /// <summary>Answers the name or word of the needle when it sits in the first 60% of the book snippet, else shrugs.</summary>
    internal static string Reader(string prompt)
    {
        var start = prompt.IndexOf("snippet:\n\n", StringComparison.Ordinal);
        var end = prompt.IndexOf("\n\nUse the information", StringComparison.Ordinal);
        var m = Regex.Match(prompt, @"Actually, (\w+) lives next to|pass word was (\w+)\.");
        if (!m.Success || (m.Index - start) / (double)(end - start) > 0.6) return "I don't know.";
        return m.Groups[1].Success ? $"{m.Groups[1].Value}." : m.Groups[2].Value;
    }

    [Fact]
    public void Legacy_numpy_generator_draws_what_numpy_draws()
    {
        // /usr/bin/python3 (NumPy 1.24.2): np.random.seed(443); [np.random.choice(Characters) for _ in range(8)]
        var rng = new NumpyLegacyRandom(443);
        Assert.Equal(["Caleb", "Yuki", "Katie", "Katie", "Yuki", "Katie", "Mandy", "Katie"], Enumerable.Range(0, 8).Select(_ => Characters[rng.Choice(10)]));
        // np.random.seed(7); [np.random.randint(0, 5) for _ in range(10)], np.random.uniform(0, 0.6), np.random.uniform(0, 0.2)
        rng = new NumpyLegacyRandom(7);
        Assert.Equal([4, 1, 3, 3, 4, 1, 0, 1, 2, 2], Enumerable.Range(0, 10).Select(_ => rng.Choice(5)));
        Assert.Equal(0.009546216576766174, rng.Uniform(0, 0.6));
        Assert.Equal(0.10555295896415412, rng.Uniform(0, 0.2));
        rng = new NumpyLegacyRandom(4294967295);                          // np.random.randint(0, 1000), np.random.random()
        Assert.Equal(419, rng.Choice(1000));
        Assert.Equal(0.11160667175339789, rng.NextDouble());
        Assert.Equal(0.5488135039273248, new NumpyLegacyRandom(0).NextDouble());
    }

    [Fact]
    public void Needle_set_expands_like_run_tests_py()
    {
        var tests = NoLiMaNeedleSet.Load(Path.Combine(WriteData(), "needlesets", "needle_set.json"));
        Assert.Equal(["0401_T17_C02_onehop", "0401_T17_C02_twohop", "0502_T01_direct"], tests.Select(t => t.Name));
        Assert.Equal("Actually, {CHAR} lives next to the Kiasma museum.", tests[0].Needle);
        Assert.Equal("Which character has been to Helsinki?", tests[0].Question);
        Assert.Equal("Which character has been to Uusimaa?", tests[1].Question);
        Assert.Equal(42 + 401, tests[0].Seed);
        Assert.Equal(42 + 502, tests[2].Seed);
        Assert.Equal(["marigold"], tests[2].GoldAnswers);
        Assert.Equal(NoLiMaNeedleSet.DefaultTaskTemplate, tests[2].TaskTemplate);
    }

    [Fact]
    public void Needle_goes_at_the_first_line_start_past_the_depth_in_a_window_of_the_context_length()
    {
        var tok = new TestTokenizer();
        var path = Path.Combine(WriteData(lines: 200), "haystack", "rand_shuffle", "rand_book_1.txt");
        var book = new NoLiMaHaystack(path, tok);
        var first = book.Place("NEEDLE.", 300, 0);
        Assert.StartsWith(" NEEDLE.\n 0 of book 1", first);                            // depth 0: the window's first token goes with the cut-back text, as book_haystack.py
        var mid = book.Place("NEEDLE.", 300, 0.5);
        var at = mid.IndexOf(" NEEDLE.\n", StringComparison.Ordinal);
        Assert.InRange(tok.Count(mid[..at]), 130, 151);                                // round(300·0.5) = 150 tokens before, cut back to a line end
        Assert.EndsWith(".", mid[..at]);                                                 // the text before ends a line
        Assert.InRange(tok.Count(mid), 300 - 30, 300 + 5);
        Assert.Throws<EvalException>(() => book.Place("NEEDLE.", 100_000, 0.5));
    }

    [Fact]
    public void Distractor_goes_outside_the_free_zone_around_the_needle()
    {
        var tok = new TestTokenizer();
        var book = new NoLiMaHaystack(Path.Combine(WriteData(lines: 300), "haystack", "rand_shuffle", "rand_book_2.txt"), tok);
        var rng = new NumpyLegacyRandom(9);
        var depth = NoLiMaHaystack.DistractorDepth(rng, 800, 0.1);
        Assert.True(depth >= 0.3, $"{depth}");                                           // ≥ needle depth + free zone (0.2)
        var text = book.PlaceWithDistractor("NEEDLE here.", "DISTRACTOR there.", 800, 0.1, depth);
        var (needle, distractor) = (text.IndexOf("NEEDLE here.", StringComparison.Ordinal), text.IndexOf(" DISTRACTOR there.\n", StringComparison.Ordinal));
        Assert.True(needle > 0 && distractor > needle, text[..200]);
        Assert.InRange(distractor / (double)text.Length, depth - 0.1, depth + 0.1);
        Assert.Equal(0.7, NoLiMaHaystack.DistractorDepth(new NumpyLegacyRandom(1), 250, 0.5));   // below 500 tokens: fixed
    }

    [Theory]
    [InlineData(NoLiMaMetric.Contains, "It is Katie.", true)]
    [InlineData(NoLiMaMetric.Contains, "It is katie.", false)]                         // case-sensitive
    [InlineData(NoLiMaMetric.Em, " Katie \n", true)]
    [InlineData(NoLiMaMetric.Em, "Katie.", false)]
    [InlineData(NoLiMaMetric.LastLineContains, "Thinking...\nAnswer: Katie", true)]
    [InlineData(NoLiMaMetric.LastLineEm, "Katie\nno", false)]
    public void Metrics_follow_evaluate_response(NoLiMaMetric metric, string response, bool correct) =>
        Assert.Equal(correct, NoLiMaSuite.IsCorrect(metric, response, ["Katie"]));

    [Fact]
    public void Depths_are_numpy_linspace() =>
        Assert.Equal([0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 84, 88, 92, 96, 100], NoLiMaSuite.Depths(26));

    [Fact]
    public void Python_format_fills_named_fields_and_keeps_doubled_braces()
    {
        Assert.Equal("a {x} B c", PythonStrings.Format("a {{x}} {q} c", new Dictionary<string, string> { ["q"] = "B" }));
        Assert.Contains("{haystack}", Assert.Throws<EvalException>(() => PythonStrings.Format("{nope}", new Dictionary<string, string> { ["haystack"] = "" })).Message);
    }
}
