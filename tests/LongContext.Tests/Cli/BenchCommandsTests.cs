using System.Text.Json;
using LongContext.Training.Data;

namespace LongContext.Tests.Cli;

/// <summary>The GPU benchmarks' CPU paths at tiny sizes, so the commands cannot rot between GPU runs.</summary>
[Collection(CliCollection.Name)]
public class BenchCommandsTests
{
    static async Task<(int Code, string Out)> Run(params string[] args)
    {
        var (code, output, _) = await CliRun.Capture(args);
        return (code, output);
    }

    static JsonElement LastJson(string output) => CliRun.LastJson(output);

    [Fact]
    public async Task Bench_train_reports_every_length_with_the_checkpointing_used()
    {
        var (code, output) = await Run("bench", "train", "--preset", "tiny", "--lengths", "64,128", "--steps", "1", "--warmup", "0",
            "--checkpointing", "1", "--device", "cpu", "--json");
        Assert.Equal(0, code);
        var report = LastJson(output);
        Assert.Equal("1", report.GetProperty("checkpointing").GetString());
        var lengths = report.GetProperty("lengths").EnumerateArray().ToList();
        Assert.Equal([64, 128], lengths.Select(l => l.GetProperty("length").GetInt32()));
        Assert.All(lengths, l => Assert.True(l.GetProperty("tokens_per_second").GetDouble() > 0));
        Assert.All(lengths, l => Assert.Equal(1, l.GetProperty("checkpointed_layers").GetInt32()));
        Assert.Equal(128, report.GetProperty("longest_trained").GetInt32());
    }

    [Fact]
    public async Task Bench_train_rejects_an_unknown_checkpointing_mode()
    {
        var (code, _) = await Run("bench", "train", "--preset", "tiny", "--lengths", "64", "--checkpointing", "some", "--device", "cpu");
        Assert.NotEqual(0, code);
    }

    [Fact]
    public async Task Bench_serve_reports_cold_and_prefix_cached_requests()
    {
        var tokenizer = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf", "tokenizer");
        var (code, output) = await Run("bench", "serve", "--preset", "tiny", "--tokenizer", tokenizer, "--contexts", "128",
            "--max-tokens", "4", "--follow-up", "8", "--device", "cpu", "--json");
        Assert.Equal(0, code);
        var requests = LastJson(output).GetProperty("requests").EnumerateArray().ToList();
        Assert.Equal(["cold", "prefix-cached"], requests.Select(r => r.GetProperty("request").GetString()));
        Assert.Equal(0, requests[0].GetProperty("cached_prompt_tokens").GetInt32());
        Assert.Equal(128, requests[1].GetProperty("cached_prompt_tokens").GetInt32());
        Assert.Equal(136, requests[1].GetProperty("prompt_tokens").GetInt32());
    }
}

public class RandomTokenSourceTests
{
    [Fact]
    public void Batches_are_reproducible_from_the_seed_and_cursor_with_shifted_labels()
    {
        var a = new RandomTokenSource(100, 16, batchSize: 2, seed: 5);
        var first = a.Next();
        var second = a.Next();
        var b = new RandomTokenSource(100, 16, batchSize: 2, seed: 5);
        b.Seek(new DataCursor(0, 2));
        Assert.Equal(second.InputIds, b.Next().InputIds);
        Assert.NotEqual(first.InputIds, second.InputIds);
        Assert.NotEqual(first.InputIds, new RandomTokenSource(100, 16, batchSize: 2, seed: 6).Next().InputIds);
        for (int i = 0; i < 15; i++) Assert.Equal(first.InputIds[i + 1], first.Labels[i]);
        Assert.Equal(TrainingBatch.IgnoreIndex, first.Labels[15]);
        Assert.All(first.InputIds, id => Assert.InRange(id, 0, 99));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (long)i), first.PositionIds.Take(16));
    }
}
