using System.Text.Json;
using LongContext.Tests.Data;
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

    static List<JsonElement> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public async Task Bench_train_streams_one_json_line_per_length_and_appends_them_to_out()
    {
        using var dir = new TempDir();
        var outFile = Path.Combine(dir.Path, "sub", "train.jsonl");
        var (code, output) = await Run("bench", "train", "--preset", "tiny", "--lengths", "32", "--probe-max", "128", "--steps", "1", "--warmup", "0",
            "--device", "cpu", "--json", "--out", outFile);
        Assert.Equal(0, code);
        var stdout = Lines(output);
        // 32, then the probe doubles to 64 and 128: one "train" line each as it finishes, the summary last.
        Assert.Equal([32, 64, 128], stdout.Where(l => l.TryGetProperty("record", out var r) && r.GetString() == "train").Select(l => l.GetProperty("length").GetInt32()));
        Assert.Equal(128, stdout[^1].GetProperty("longest_trained").GetInt32());
        var file = Lines(File.ReadAllText(outFile));
        Assert.Equal(["train", "train", "train", "summary"], file.Select(l => l.GetProperty("record").GetString()));
        Assert.Equal(3, file[^1].GetProperty("lengths").GetArrayLength());
    }

    [Fact]
    public async Task Bench_prefill_long_request_mode_streams_chunks_then_time_to_first_token_and_decode_with_an_fp8_cache()
    {
        using var dir = new TempDir();
        var outFile = Path.Combine(dir.Path, "prefill.jsonl");
        var (code, output) = await Run("bench", "prefill", "--preset", "tiny", "--lengths", "256", "--prefill-chunk", "64", "--decode-after", "3",
            "--kv-cache", "fp8", "--device", "cpu", "--json", "--out", outFile);
        Assert.Equal(0, code);
        var lines = Lines(output);
        static string? Kind(JsonElement l) => l.TryGetProperty("record", out var r) ? r.GetString() : null;   // the summary has none
        var chunks = lines.Where(l => Kind(l) == "prefill_chunk").ToList();
        Assert.Equal([64, 128, 192, 256], chunks.Select(c => c.GetProperty("tokens_done").GetInt32()));
        Assert.All(chunks, c => Assert.True(c.GetProperty("tokens_per_second").GetDouble() > 0));
        var request = lines.Single(l => Kind(l) == "prefill_decode");
        Assert.Equal("fp8", request.GetProperty("kv_cache").GetString());
        Assert.Equal("eager", request.GetProperty("decode_mode").GetString());
        Assert.True(request.GetProperty("ttft_seconds").GetDouble() > 0);
        Assert.True(request.GetProperty("decode_tokens_per_second").GetDouble() > 0);
        Assert.Equal("fp8", lines[^1].GetProperty("kv_cache").GetString());
        Assert.Equal(Lines(File.ReadAllText(outFile)).Count, lines.Count);
    }

    [Fact]
    public void Bench_output_has_each_item_on_disk_before_the_run_ends()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "partial.jsonl");
        using var output = new LongContext.Cli.Commands.BenchOutput(json: false, path);
        output.Item("train", new { Length = 524288, TokensPerSecond = 2195.0 });
        // Still open (the run goes on, or is killed here): the finished line is already readable.
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var line = JsonDocument.Parse(reader.ReadLine()!).RootElement;
        Assert.Equal("train", line.GetProperty("record").GetString());
        Assert.Equal(524288, line.GetProperty("length").GetInt32());
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
