using System.Text.Json.Nodes;
using LongContext.Eval.Backends;
using LongContext.Eval.Ruler;
using LongContext.Eval.Runs;
using LongContext.Eval.Text;

namespace LongContext.Tests.Eval;

public class RulerDataTests
{
    [Fact]
    public void Keys_are_adjective_noun_from_the_word_lists_and_unverified_lists_are_not_rulers()
    {
        var dir = EvalFixtures.TempDir("wonderwords");
        File.WriteAllLines(Path.Combine(dir, "adjectivelist.txt"), Enumerable.Range(0, 60).Select(i => $"adj{i}"));
        File.WriteAllLines(Path.Combine(dir, "nounlist.txt"), Enumerable.Range(0, 80).Select(i => $"noun{i}"));
        File.WriteAllLines(Path.Combine(dir, "verblist.txt"), Enumerable.Range(0, 70).Select(i => $"verb{i}"));
        var pool = WordPool.Load(dir);
        var rng = new Random(1);
        for (var i = 0; i < 50; i++) Assert.Matches("^adj\\d+-noun\\d+$", pool.Key(rng));
        Assert.Equal(210, pool.Words.Count);                         // CWE: nouns + adjectives + verbs
        Assert.False(pool.Comparable);
        Assert.Contains("match no wonderwords release", pool.Source);
        Assert.Equal("3.0.0", RulerProvenance.WonderwordsRelease(
            "66814d46b7e292c83e839d12fe2fa083c8f66779b14b294e1be4e1342c5d4131", "8d88b3ebc2e2969ed92ebe49cdb0c8a87c2ad3b27493d7afdff608f2e51c5bc9", "9fbf5e4e69b8869aebd88e6d545312ff9f878a747327ede5f6dbbba5c27b08ad"));
    }

    [Fact]
    public void User_essays_and_qa_files_are_not_rulers_data_unless_their_sha256_matches()
    {
        var data = EvalFixtures.AllData();
        Assert.Equal(0, data.EssayComparableWords);
        Assert.False(data.Squad!.Comparable);
        Assert.False(data.HotpotQa!.Comparable);
        Assert.False(RulerTask.Create("niah_single_2", data).Status.Comparable);
        Assert.False(RulerTask.Create("qa_1", data).Status.Comparable);
        Assert.True(RulerTask.Create("niah_multikey_3", data).Status.Comparable);   // uuids in a haystack of needles: no data at all
    }

    [Fact]
    public void A_word_pool_padded_with_generated_words_marks_the_cwe_item_non_comparable()
    {
        var file = Path.Combine(EvalFixtures.TempDir("small-words"), "words.txt");
        File.WriteAllLines(file, Enumerable.Range(0, 120).Select(i => $"w{i}x"));
        var data = RulerData.Load(null, null, null, file);
        var s = RulerTask.Create("cwe", data).Generate(8192, 0, 42, EvalFixtures.Measurer(new RegexWordTokenizer()));
        Assert.True(s.HaystackSize > 120);
        Assert.Contains("exceed the 120-word pool", s.NonComparable);
        var item = RulerSuite.ToItem(s, EvalFixtures.Measurer(new RegexWordTokenizer()));
        Assert.Equal(s.NonComparable, item.NonComparable);
    }

    [Fact]
    public void Cwe_backs_off_ten_words_so_a_sample_that_misses_the_searched_size_loses_under_one_percent()
    {
        // Words of varying token counts (as wonderwords' "arch-rival" next to "cat"), so samples miss the searched size.
        var file = Path.Combine(EvalFixtures.TempDir("mixed-words"), "words.txt");
        var rng = new Random(5);
        File.WriteAllLines(file, Enumerable.Range(0, 9000).Select(i => rng.Next(4) == 0 ? $"w{i}-part" : $"w{i}x"));
        var data = RulerData.Load(null, null, null, file);
        var m = EvalFixtures.Measurer(new RegexWordTokenizer());
        var task = RulerTask.Create("cwe", data);
        var fills = Enumerable.Range(0, 6).Select(i => task.Generate(16384, i, 42, m)).Select(s => (s.PromptTokens + s.MaxNewTokens) / 16384.0).ToList();
        Assert.All(fills, f => Assert.InRange(f, 0.985, 1.0));
    }

    [Fact]
    public void Comparable_only_when_everything_matches_rulers_setup_and_every_reason_is_listed()
    {
        var tasks = RulerTask.DefaultTaskNames.Select(t => new TaskNote(t, true, true, "verified")).ToList();
        RunManifest Manifest(string placement, int samples, IReadOnlyList<int> lengths) => new()
        {
            Suite = RulerSuite.SuiteName, ConfigHash = "h", Config = new JsonObject { ["samples"] = samples }, Backend = "b",
            PrefixPlacement = placement, Lengths = lengths, Tasks = tasks,
        };
        var full = Manifest("assistant_turn", 500, RulerComparability.Lengths);
        var records = RulerTask.DefaultTaskNames.SelectMany(t => RulerComparability.Lengths.SelectMany(l => Enumerable.Range(0, 500)
            .Select(i => new ResultRecord { Key = $"{t}{l}{i}", Suite = "ruler", Task = t, Length = l, Index = $"{i}", ConfigHash = "h", Score = 100 }))).ToList();
        Assert.Empty(RulerComparability.Reasons(full, records));

        records[7] = records[7] with { Error = "Endpoint answered 400", Score = 0 };
        records[9] = records[9] with { NonComparable = "padded word list" };
        var reasons = RulerComparability.Reasons(Manifest("user_message_end", 100, [4096, 8192]), records);
        Assert.Contains("1 of 39000 items failed (each counts as 0; rerun to retry them)", reasons);
        Assert.Contains(reasons, r => r.Contains("padded word list (1 items)"));
        Assert.Contains(reasons, r => r.StartsWith("answer prefix at the end of the user message", StringComparison.Ordinal));
        Assert.Contains("100 samples per task and length (RULER: 500)", reasons);
        Assert.Contains(reasons, r => r.StartsWith("Avg and wAvg cover 2 of RULER's 6 lengths", StringComparison.Ordinal));
    }
}
