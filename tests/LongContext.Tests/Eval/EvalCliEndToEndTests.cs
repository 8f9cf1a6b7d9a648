using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Cli;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

/// <summary>Runs `longctx eval ...` through the CLI entry point against a local OpenAI-compatible stub.</summary>
[Collection(CliCollection.Name)]
public class EvalCliEndToEndTests
{
    static EvalCliEndToEndTests()
    {
        var tok = new TestTokenizer();
        EvalBackends.TokenizerFactory = _ => tok;
    }

    private static string[] Niah(StubOpenAiServer stub, string dir, string lengths, int depths, int concurrency = 2) =>
        ["eval", "niah", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "test-tokenizer", "--lengths", lengths, "--depths", depths.ToString(),
         "--out", dir, "--concurrency", concurrency.ToString(), "--json"];

    [Fact]
    public async Task Niah_run_writes_results_report_and_a_non_uniform_heatmap_then_resumes_without_requests()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("niah-e2e");
        Assert.Equal(0, await LongCtxApp.RunAsync(Niah(stub, dir, "512,1k,2k", 5)));
        Assert.Equal(15, stub.Requests);

        var records = ResultStore.Read(dir);
        Assert.Equal(15, records.Count);
        Assert.All(records, r => { Assert.Null(r.Error); Assert.Equal("user_message_end", r.PrefixPlacement); Assert.True(r.PromptTokens <= r.Length - 64); });
        Assert.Contains(records, r => r.Score == 100);
        Assert.Contains(records, r => r.Score == 0 && r.Length == 2048);   // the stub misses mid-depth needles in long prompts
        Assert.All(records.Where(r => r.Length < 2048), r => Assert.Equal(100, r.Score));

        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("| depth \\ length | 512 | 1K | 2K |", report);
        Assert.Contains("user_message_end", report);
        Assert.Contains("niah_heatmap.png", report);
        var png = File.ReadAllBytes(Path.Combine(dir, "niah_heatmap.png"));
        Assert.True(png.Length > 5000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir, "niah_heatmap.svg")));
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        Assert.InRange(summary["score"]!.GetValue<double>(), 50, 99);

        Assert.Equal(0, await LongCtxApp.RunAsync(Niah(stub, dir, "512,1k,2k", 5)));
        Assert.Equal(15, stub.Requests);
    }

    [Fact]
    public async Task Ruler_run_covers_all_13_tasks_and_reports_averages_and_comparability()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("ruler-e2e");
        var dump = Path.Combine(dir, "dump");
        string[] args = ["eval", "ruler", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--lengths", "1k,2k", "--samples", "2",
            "--essays", EvalFixtures.Essays, "--squad", EvalFixtures.Squad, "--hotpotqa", EvalFixtures.Hotpot, "--dump", dump, "--out", dir, "--json"];
        Assert.Equal(0, await LongCtxApp.RunAsync(args));
        Assert.Equal(13 * 2 * 2, stub.Requests);

        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!.AsObject();
        var tasks = summary["tasks"]!.AsObject();
        Assert.Equal(13, tasks.Count);
        foreach (var t in new[] { "niah_single_1", "niah_multikey_3", "niah_multiquery", "vt", "cwe", "fwe" })
            Assert.Equal(100, tasks[t]!["1024"]!.GetValue<double>());
        Assert.InRange(summary["avg"]!.GetValue<double>(), 60, 100);
        Assert.False(summary["comparable"]!.GetValue<bool>());   // generated word list
        Assert.Contains("cwe", summary["non_comparable_tasks"]!.AsArray().Select(x => x!.GetValue<string>()));
        // The stub misses mid-depth needles in prompts over 4,000 characters, so 2K falls under the 85.6 threshold.
        Assert.True(summary["per_length"]!["2048"]!.GetValue<double>() < 85.6);
        Assert.Equal(1024, summary["effective_length"]!.GetValue<int>());

        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("| niah_multikey_1 |", report);
        Assert.Contains("Effective length", report);
        Assert.Contains("wAvg (inc)", report);
        Assert.Contains("Not comparable with published RULER averages", report);
        Assert.True(new FileInfo(Path.Combine(dir, "ruler_scores.png")).Length > 5000);

        var dumped = File.ReadAllLines(Path.Combine(dump, "vt_1024.jsonl"));
        Assert.Equal(2, dumped.Length);
        var row = JsonNode.Parse(dumped[0])!;
        Assert.StartsWith(" Answer: According to the chain(s)", row["answer_prefix"]!.GetValue<string>());
        Assert.Equal(5, row["outputs"]!.AsArray().Count);

        File.Delete(Path.Combine(dir, "report.md"));
        Assert.Equal(0, await LongCtxApp.RunAsync(["eval", "report", dir]));
        Assert.True(File.Exists(Path.Combine(dir, "report.md")));
    }

    [Fact]
    public async Task Niah_with_an_llm_judge_scores_through_the_judge_endpoint()
    {
        using var stub = new StubOpenAiServer();
        using var judge = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("niah-judge");
        var args = Niah(stub, dir, "512,2k", 3).Concat(["--judge-endpoint", judge.BaseUrl.ToString()]).ToArray();
        Assert.Equal(0, await LongCtxApp.RunAsync(args));
        Assert.Equal(6, judge.Requests);
        var records = ResultStore.Read(dir);
        Assert.All(records, r => Assert.Null(r.Error));
        Assert.Equal([30.0, 100.0], records.Select(r => r.Score).Distinct().Order());   // judge's 3/10 for the stub's wrong mid-depth answer
        Assert.Contains("judge", File.ReadAllText(Path.Combine(dir, "manifest.json")));
    }

    [Fact]
    public async Task Ruler_without_data_skips_essay_and_qa_tasks_with_a_note()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("ruler-nodata");
        Assert.Equal(0, await LongCtxApp.RunAsync(["eval", "ruler", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--lengths", "1k", "--samples", "1", "--out", dir]));
        Assert.Equal(6, stub.Requests);
        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("`qa_1`: **skipped** — skipped: needs SQuAD v2.0 dev (--squad FILE)", report);
        Assert.Contains("`niah_single_2`: **skipped**", report);
    }

    [Fact]
    public async Task A_run_cancelled_midway_resumes_without_recomputing_finished_items()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("niah-kill");
        using var cts = new CancellationTokenSource();
        stub.OnRequest = n => { if (n == 3) cts.Cancel(); };
        var rc = await LongCtxApp.RunAsync(Niah(stub, dir, "512,1k", 4, concurrency: 1), cts.Token);
        Assert.Equal(130, rc);
        var stored = ResultStore.Read(dir).Count;
        Assert.InRange(stored, 2, 3);

        stub.OnRequest = null;
        var before = stub.Requests;
        Assert.Equal(0, await LongCtxApp.RunAsync(Niah(stub, dir, "512,1k", 4, concurrency: 1)));
        Assert.Equal(8 - stored, stub.Requests - before);
        Assert.Equal(8, ResultStore.Read(dir).Count);

        // Changing a prompt-affecting argument changes the config hash: everything is recomputed under the new key.
        var args = Niah(stub, dir, "512,1k", 4, concurrency: 1).Append("--seed").Append("7").ToArray();
        before = stub.Requests;
        Assert.Equal(0, await LongCtxApp.RunAsync(args));
        Assert.Equal(8, stub.Requests - before);
    }

    [Fact]
    public async Task Missing_tokenizer_and_in_process_model_give_clear_errors()
    {
        var dir = EvalFixtures.TempDir("errors");
        var saved = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try
        {
            Assert.Equal(1, await LongCtxApp.RunAsync(["eval", "niah", "--endpoint", "http://127.0.0.1:1/v1", "--out", dir]));
            Assert.Equal(1, await LongCtxApp.RunAsync(["eval", "niah", "--model", "/models/x", "--out", dir]));
        }
        finally { Console.SetError(saved); }
        Assert.Contains("--endpoint needs --tokenizer DIR", err.ToString());
        Assert.Contains("in-process engine is not available in this build", err.ToString());
        Assert.Contains("--out DIR is required", await ErrorOf(["eval", "niah", "--endpoint", "http://127.0.0.1:1/v1", "--tokenizer", "t"]));
    }

    private static async Task<string> ErrorOf(string[] args)
    {
        var saved = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try { Assert.Equal(1, await LongCtxApp.RunAsync(args)); }
        finally { Console.SetError(saved); }
        return err.ToString();
    }

    [Fact]
    public async Task Icl_run_reports_accuracy_rising_with_shots()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("icl");
        Assert.Equal(0, await LongCtxApp.RunAsync(["eval", "icl", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--shots", "8,64,512", "--queries", "12", "--out", dir]));
        var acc = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!["accuracy_by_shots"]!.AsObject();
        Assert.True(acc["512"]!.GetValue<double>() > acc["8"]!.GetValue<double>());
        Assert.True(File.Exists(Path.Combine(dir, "icl_accuracy.png")));
    }
}
