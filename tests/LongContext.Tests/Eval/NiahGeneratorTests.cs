using LongContext.Eval.Niah;
using LongContext.Eval.Text;

namespace LongContext.Tests.Eval;

public class NiahGeneratorTests
{
    private static NiahOptions Options(NiahVariant v = NiahVariant.Single) => new() { Lengths = [1024], DepthCount = 5, Variant = v, MaxNewTokens = 32, Buffer = 10 };

    [Fact]
    public void Needle_depth_moves_through_the_context_and_the_prompt_fits()
    {
        var tok = new TestTokenizer();
        var m = EvalFixtures.Measurer(tok);
        var gen = new NiahGenerator(new EssayHaystack(EvalFixtures.Essays), Options(), WordPool.Generated(500));
        var positions = new List<double>();
        for (var d = 0; d < 5; d++)
        {
            var c = gen.Generate(1024, d, m);
            Assert.True(c.PromptTokens + 32 + 10 <= 1024);
            Assert.True(c.PromptTokens > 1024 * 0.85);
            var needle = c.Input.IndexOf("One of the special magic numbers for", StringComparison.Ordinal);
            Assert.True(needle > 0);
            // Sentence boundary: the needle follows a sentence end (or the template's newline), never mid-sentence.
            var before = c.Input[..needle].TrimEnd();
            Assert.True(before.EndsWith('.') || before.EndsWith('\n') || before.EndsWith("afterwards."), before[^20..]);
            Assert.Contains(c.Expected[0], c.Input);
            positions.Add(needle / (double)c.Input.Length);
        }
        Assert.Equal(positions.Order(), positions);
        Assert.True(positions[^1] - positions[0] > 0.8);
    }

    [Fact]
    public void Each_cell_prompt_is_a_pure_function_of_its_key_whatever_order_cells_are_built_in()
    {
        // A resumed run builds its remaining cells in another order than an uninterrupted one: the prompts must not change.
        // A BPE tokenizer, so each cell's random key and value cost a different number of tokens.
        var m = EvalFixtures.Measurer(EvalFixtures.BpeTokenizer());
        // Many lengths, so that for some the fitted size sits where the cells' few tokens of difference cross a unit boundary.
        var options = Options() with { Lengths = Enumerable.Range(0, 12).Select(i => 900 + 23 * i).ToList(), DepthCount = 10 };
        Dictionary<(int, int), NiahCase> Build(IEnumerable<(int L, int D)> order)
        {
            var gen = new NiahGenerator(new NoiseHaystack(), options, WordPool.Generated(500));
            return order.ToDictionary(c => c, c => gen.Generate(c.L, c.D, m));
        }
        var cells = options.Lengths.SelectMany(l => Enumerable.Range(0, 10).Select(d => (l, d))).ToList();
        var forward = Build(cells);
        for (var seed = 1; seed <= 3; seed++)
        {
            var rng = new Random(seed);
            var shuffled = cells.OrderBy(_ => rng.Next()).ToList();
            var other = Build(shuffled);
            foreach (var c in cells)
            {
                Assert.Equal(forward[c].Input, other[c].Input);
                Assert.Equal(forward[c].PromptTokens, other[c].PromptTokens);
            }
        }
    }

    [Fact]
    public void Multi_needle_places_k_needles_and_scores_the_fraction_found()
    {
        var gen = new NiahGenerator(new NoiseHaystack(), Options(NiahVariant.Multi) with { Needles = 4 }, WordPool.Generated(500));
        var c = gen.Generate(1024, 2, EvalFixtures.Measurer(new TestTokenizer()));
        Assert.Equal(4, c.Expected.Count);
        foreach (var v in c.Expected) Assert.Contains(v, c.Input);
        Assert.Equal(50, NiahSuite.Score(c, $"{c.Expected[0]} and {c.Expected[3]}"));
        Assert.Equal(100, NiahSuite.Score(c, string.Join(", ", c.Expected)));
    }

    [Fact]
    public void Adversarial_variant_puts_the_superseded_value_first_and_penalises_it()
    {
        var gen = new NiahGenerator(new NoiseHaystack(), Options(NiahVariant.Adversarial), WordPool.Generated(500));
        var c = gen.Generate(1024, 3, EvalFixtures.Measurer(new TestTokenizer()));
        var old = c.Forbidden[0];
        Assert.True(c.Input.IndexOf(old, StringComparison.Ordinal) < c.Input.IndexOf(c.Expected[0], StringComparison.Ordinal));
        Assert.True(c.Forbidden.Count >= 3, "look-alike distractor values are forbidden too");
        Assert.Equal(100, NiahSuite.Score(c, c.Expected[0]));
        Assert.Equal(0, NiahSuite.Score(c, old));
        Assert.Equal(0, NiahSuite.Score(c, $"{c.Expected[0]} (previously {old})"));
        Assert.Equal(0, NiahSuite.Score(c, c.Forbidden[^1]));
    }

    [Fact]
    public void Code_haystack_puts_the_needle_as_a_comment_between_files()
    {
        var repo = EvalFixtures.TempDir("repo");
        for (var i = 0; i < 6; i++)
            File.WriteAllText(Path.Combine(repo, $"mod{i}.py"), string.Join("\n", Enumerable.Range(0, 15).Select(j => $"def f{i}_{j}(x):\n    return x * {j} + {i}")));
        var gen = new NiahGenerator(new CodeHaystack(repo), Options() with { Lengths = [2048] }, WordPool.Generated(500));
        var c = gen.Generate(2048, 2, EvalFixtures.Measurer(new TestTokenizer()));
        Assert.Matches(@"\n# NOTE: One of the special magic numbers for \S+ is: \d{7}\.\n\n?# File: mod\d\.py", c.Input);
    }

    [Fact]
    public void Sentence_splitter_keeps_abbreviations_and_initials_inside_sentences()
    {
        var s = SentenceSplitter.Split("Mr. Alder opened at 5 a.m. today. J. Smith came too! Did he? Yes.");
        Assert.Equal(["Mr. Alder opened at 5 a.m. today.", "J. Smith came too!", "Did he?", "Yes."], s);
    }
}
