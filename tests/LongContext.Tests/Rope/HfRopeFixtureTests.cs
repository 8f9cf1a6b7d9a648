using System.Text.Json.Nodes;
using LongContext.Core.Rope;
using Xunit.Abstractions;
using LongContext.Formats.Config;

namespace LongContext.Tests.Rope;

public class HfRopeFixtureTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_method_matches_values_recorded_from_transformers()
    {
        var path = HfRopeFixture.DefaultPath;
        if (!File.Exists(path))
        {
            // xunit 2 has no runtime skip: report it and pass. Record the file with tools/fixtures/rope_reference.py.
            output.WriteLine($"SKIPPED: {path} not present (record it with tools/fixtures/rope_reference.py on a box with transformers).");
            return;
        }
        var entries = HfRopeFixture.Load(path);
        Assert.NotEmpty(entries);
        var problems = entries.SelectMany(e => HfRopeFixture.Compare(e)).ToList();
        output.WriteLine($"{entries.Count} transformers entries compared, {problems.Count} problems.");
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems.Take(40)));
    }

    [Fact]
    public void Fixture_harness_reads_both_shapes_and_flags_a_wrong_value()
    {
        var rope = new RopeParameters { RopeType = "yarn", RopeTheta = 1e6, Factor = 4, OriginalMaxPositionEmbeddings = 32768 };
        var f = RopeFrequencies.Compute(rope, 128, 131072);
        JsonObject Entry(string name, double[] inv) => new()
        {
            ["name"] = name,
            ["rope_parameters"] = new JsonObject
            {
                ["rope_type"] = "yarn", ["rope_theta"] = 1e6, ["factor"] = 4.0, ["original_max_position_embeddings"] = 32768,
            },
            ["head_dim"] = 128, ["max_position_embeddings"] = 131072, ["seq_len"] = null,
            ["inv_freq"] = new JsonArray(inv.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
            ["attention_scaling"] = f.AttentionScaling,
        };
        var good = f.InvFreq.Select(x => (double)x).ToArray();
        var bad = (double[])good.Clone();
        bad[40] *= 1 + 3e-6;

        var dir = Directory.CreateTempSubdirectory("rope-fixture");
        try
        {
            var asObject = Path.Combine(dir.FullName, "o.json");
            File.WriteAllText(asObject, new JsonObject { ["entries"] = new JsonArray(Entry("good", good), Entry("bad", bad)) }.ToJsonString());
            var asArray = Path.Combine(dir.FullName, "a.json");
            File.WriteAllText(asArray, new JsonArray(Entry("good", good)).ToJsonString());

            var entries = HfRopeFixture.Load(asObject);
            Assert.Equal(2, entries.Count);
            Assert.Equal("yarn", entries[0].Rope.RopeType);
            Assert.Empty(HfRopeFixture.Compare(entries[0]));
            var problems = HfRopeFixture.Compare(entries[1]);
            Assert.Single(problems);
            Assert.Contains("inv_freq[40]", problems[0]);
            Assert.Empty(HfRopeFixture.Compare(Assert.Single(HfRopeFixture.Load(asArray))));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Fixture_mapping_rejects_keys_it_does_not_understand()
    {
        var d = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0, ["mrope_section"] = new JsonArray(16, 24, 24) };
        var ex = Assert.Throws<InvalidDataException>(() => HfRopeFixture.ToRopeParameters(d, "x"));
        Assert.Contains("mrope_section", ex.Message);
    }
}
