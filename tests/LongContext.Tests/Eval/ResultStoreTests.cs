using System.Text.Json;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

public class ResultStoreTests
{
    private static ResultRecord Rec(string key, double score = 100) =>
        new() { Key = key, Suite = "ruler", Task = "t", Index = key, ConfigHash = "h", Score = score, Length = 1024 };

    [Fact]
    public void A_torn_last_line_is_cut_kept_aside_and_the_next_record_survives()
    {
        var dir = EvalFixtures.TempDir("torn");
        var path = Path.Combine(dir, ResultStore.FileName);
        File.WriteAllText(path, JsonSerializer.Serialize(Rec("a")) + "\n" + JsonSerializer.Serialize(Rec("b")) + "\n");
        var torn = JsonSerializer.Serialize(Rec("c"));
        File.AppendAllText(path, torn[..(torn.Length / 2)]);                 // a kill in the middle of a write

        var store = new ResultStore(dir);
        Assert.Contains(store.Repairs, r => r.Contains("torn last line") && r.Contains("results.jsonl.torn"));
        Assert.Equal(torn[..(torn.Length / 2)] + "\n", File.ReadAllText(path + ".torn"));
        Assert.False(store.IsDone("c"));                                      // the torn item runs again
        store.Append(Rec("d"));
        Assert.Equal(["a", "b", "d"], ResultStore.Read(dir).Select(r => r.Key).Order());
        Assert.Empty(new ResultStore(dir).Repairs);
    }

    [Fact]
    public void A_complete_last_record_missing_only_its_newline_is_kept()
    {
        var dir = EvalFixtures.TempDir("no-newline");
        var path = Path.Combine(dir, ResultStore.FileName);
        File.WriteAllText(path, JsonSerializer.Serialize(Rec("a")));
        var store = new ResultStore(dir);
        Assert.Empty(store.Repairs);
        Assert.True(store.IsDone("a"));
        store.Append(Rec("b"));
        Assert.Equal(["a", "b"], ResultStore.Read(dir).Select(r => r.Key).Order());
    }

    [Fact]
    public void An_unreadable_line_inside_the_file_is_skipped_and_reported()
    {
        var dir = EvalFixtures.TempDir("garbled");
        File.WriteAllText(Path.Combine(dir, ResultStore.FileName), JsonSerializer.Serialize(Rec("a")) + "\n{\"key\": garbage\n" + JsonSerializer.Serialize(Rec("b")) + "\n");
        var store = new ResultStore(dir);
        Assert.Contains(store.Repairs, r => r.Contains(":2: unreadable line skipped"));
        Assert.Equal(2, store.DoneCount);
    }
}
