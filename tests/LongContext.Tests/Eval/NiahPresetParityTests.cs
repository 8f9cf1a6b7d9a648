using System.Text.Json.Nodes;
using LongContext.Eval.Niah;
using LongContext.Eval.Text;

namespace LongContext.Tests.Eval;

/// <summary>
/// --preset gkamradt / langchain-multi against gkamradt/LLMTest_NeedleInAHaystack's own context builders
/// (tests/fixtures/niah/gkamradt_contexts.json from tools/fixtures/niah/make_gkamradt_fixtures.py at 7b90d28): the same
/// essays and tokenizer give the same context, character for character, at every length and depth.
/// </summary>
public class NiahPresetParityTests
{
    private static readonly Lazy<JsonObject> Fixture = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "niah", "gkamradt_contexts.json")))!.AsObject());

    public static TheoryData<string, int, double> Cases()
    {
        var data = new TheoryData<string, int, double>();
        foreach (var c in Fixture.Value["cases"]!.AsArray())
            data.Add(c!["preset"]!.GetValue<string>(), c["length"]!.GetValue<int>(), c["depth"]!.GetValue<double>());
        return data;
    }

    [Fact]
    public void Fixture_names_the_original_commit_and_our_tokenizer()
    {
        Assert.Equal("7b90d285651b68d39a94f3d3bd3672f84192c989", Fixture.Value["commit"]!.GetValue<string>());
        Assert.Equal(RegexWordTokenizer.Pattern, Fixture.Value["tokenizer_pattern"]!.GetValue<string>());
        Assert.Equal(NiahPreset.Buffer, Fixture.Value["buffer"]!.GetValue<int>());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Needle_placement_matches_the_original_generator(string preset, int length, double depth)
    {
        var expected = Fixture.Value["cases"]!.AsArray().Single(c => c!["preset"]!.GetValue<string>() == preset && c["length"]!.GetValue<int>() == length
            && c["depth"]!.GetValue<double>() == depth)!["context"]!.GetValue<string>();
        var inserter = new NeedleInserter(EssayCorpus.ReadRulerText(EvalFixtures.Essays, "--essays"), new RegexWordTokenizer());
        var ours = inserter.Context(length, depth, NiahPreset.ByName(preset).Needles, NiahPreset.Buffer);
        Assert.Equal(expected, ours);
    }

    [Fact]
    public void A_needle_lands_after_a_standalone_period_token_never_after_a_fused_one()
    {
        // '."' is one token here: the walk back from the depth passes it and stops after a plain ".".
        var inserter = new NeedleInserter("One two three. Four five six.\" Seven eight nine ten eleven twelve? ", new RegexWordTokenizer());
        foreach (var depth in new[] { 10.0, 35, 60, 85 })
        {
            var context = inserter.Context(80, depth, ["[N]"], buffer: 10);
            var at = context.IndexOf("[N]", StringComparison.Ordinal);
            Assert.True(at == 0 || context[..at].EndsWith("three.", StringComparison.Ordinal), $"depth {depth}: …{context[Math.Max(0, at - 20)..at]}[N]");
        }
    }
}
