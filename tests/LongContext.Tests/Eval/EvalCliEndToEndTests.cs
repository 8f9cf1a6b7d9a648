using System.Text.Json.Nodes;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

/// <summary>
/// Runs `longctx eval ...` through the CLI entry point against a local OpenAI-compatible stub that answers, fails, hangs
/// or echoes. Each run has its own stdout/stderr and backends (<see cref="EvalCli"/>), so these tests run in parallel.
/// </summary>
public class EvalCliEndToEndTests
{
    private static readonly EvalBackends Http = EvalCli.Http();

    private static string[] Niah(StubOpenAiServer stub, string dir, string lengths, int depths, int concurrency = 2) =>
        ["eval", "niah", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "test-tokenizer", "--lengths", lengths, "--depths", depths.ToString(),
         "--out", dir, "--concurrency", concurrency.ToString(), "--json"];

    private static string[] Ruler(StubOpenAiServer stub, string dir, string lengths, int samples, params string[] more) =>
        ["eval", "ruler", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--lengths", lengths, "--samples", samples.ToString(), "--out", dir, "--json", .. more];

    [Fact]
    public async Task Niah_run_writes_results_report_and_a_non_uniform_heatmap_then_resumes_without_requests()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("niah-e2e");
        Assert.Equal(0, (await EvalCli.Run(Http, Niah(stub, dir, "512,1k,2k", 5))).Code);
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
        Assert.Contains("auto: no chat template known", report);
        Assert.Contains("niah_heatmap.png", report);
        var png = File.ReadAllBytes(Path.Combine(dir, "niah_heatmap.png"));
        Assert.True(png.Length > 5000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir, "niah_heatmap.svg")));
        Assert.InRange(EvalCli.Summary(dir)["score"]!.GetValue<double>(), 50, 99);

        Assert.Equal(0, (await EvalCli.Run(Http, Niah(stub, dir, "512,1k,2k", 5))).Code);
        Assert.Equal(15, stub.Requests);
    }

    [Fact]
    public async Task Ruler_run_covers_all_13_tasks_reports_averages_and_says_why_it_is_not_comparable()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("ruler-e2e");
        var dump = Path.Combine(dir, "dump");
        var run = await EvalCli.Run(Http, Ruler(stub, dir, "1k,2k", 2, "--essays", EvalFixtures.Essays, "--squad", EvalFixtures.Squad, "--hotpotqa", EvalFixtures.Hotpot, "--dump", dump));
        Assert.True(run.Code == 0, run.Err);
        Assert.Equal(13 * 2 * 2, stub.Requests);

        var summary = EvalCli.Summary(dir);
        var tasks = summary["tasks"]!.AsObject();
        Assert.Equal(13, tasks.Count);
        foreach (var t in new[] { "niah_single_1", "niah_multikey_3", "niah_multiquery", "vt", "cwe", "fwe" })
            Assert.Equal(100, tasks[t]!["1024"]!.GetValue<double>());
        Assert.InRange(summary["avg"]!.GetValue<double>(), 60, 100);
        Assert.False(summary["comparable"]!.GetValue<bool>());
        var reasons = summary["comparable_reasons"]!.AsArray().Select(x => x!.GetValue<string>()).ToList();
        Assert.Contains(reasons, r => r.StartsWith("cwe: words from generated", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("niah_single_2:", StringComparison.Ordinal) && r.Contains("not RULER's Paul Graham essay text"));
        Assert.Contains(reasons, r => r.StartsWith("qa_1:", StringComparison.Ordinal) && r.Contains("SHA-256 differs"));
        Assert.Contains(reasons, r => r.StartsWith("answer prefix at the end of the user message", StringComparison.Ordinal));
        Assert.Contains("2 samples per task and length (RULER: 500)", reasons);
        Assert.Contains(reasons, r => r.StartsWith("lengths 1K, 2K are not RULER's", StringComparison.Ordinal));
        Assert.Contains("cwe", summary["non_comparable_tasks"]!.AsArray().Select(x => x!.GetValue<string>()));
        // The stub misses mid-depth needles in prompts over 6,000 characters, so 2K falls under the 85.6 threshold.
        Assert.True(summary["per_length"]!["2048"]!.GetValue<double>() < 85.6);
        Assert.Equal(1024, summary["effective_length"]!.GetValue<int>());

        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("| niah_multikey_1 |", report);
        Assert.Contains("Effective length", report);
        Assert.Contains("wAvg (inc)", report);
        Assert.Contains("Not comparable with published RULER numbers**, because:", report);
        Assert.True(new FileInfo(Path.Combine(dir, "ruler_scores.png")).Length > 5000);

        // --dump writes the exact prompt: here the chat message as sent (prefix at its end), and CWE's solved example first.
        var vt = JsonNode.Parse(File.ReadAllLines(Path.Combine(dump, "vt_1024.jsonl"))[0])!;
        Assert.StartsWith(" Answer: According to the chain(s)", vt["answer_prefix"]!.GetValue<string>());
        Assert.EndsWith(vt["answer_prefix"]!.GetValue<string>(), vt["prompt"]!.GetValue<string>());
        Assert.Equal(vt["prompt"]!.GetValue<string>(), vt["messages"]![0]!["content"]!.GetValue<string>());
        Assert.Equal(5, vt["outputs"]!.AsArray().Count);
        var cwe = JsonNode.Parse(File.ReadAllLines(Path.Combine(dump, "cwe_1024.jsonl"))[0])!["prompt"]!.GetValue<string>();
        Assert.StartsWith("Below is a numbered list of words.", cwe);
        Assert.Equal(2, cwe.Split("Question: What are the 10 most common words in the above list? Answer: The top 10 words that appear most often in the list are:").Length - 1);
        Assert.Contains(stub.Prompts, p => p == cwe);

        File.Delete(Path.Combine(dir, "report.md"));
        Assert.Equal(0, (await EvalCli.Run(Http, ["eval", "report", dir])).Code);
        Assert.True(File.Exists(Path.Combine(dir, "report.md")));
    }

    [Fact]
    public async Task Failed_requests_count_as_wrong_show_per_cell_and_fail_the_command_until_retried()
    {
        using var stub = new StubOpenAiServer { Reject = (n, _) => n % 2 == 0 ? (400, "This model's maximum context length is 1000 tokens") : null };
        var dir = EvalFixtures.TempDir("ruler-fail");
        var run = await EvalCli.Run(Http, Ruler(stub, dir, "1k", 6, "--tasks", "niah_single_1", "--concurrency", "1", "--retries", "0"));
        Assert.Equal(3, run.Code);
        Assert.Contains("3 of 6 items failed (first: Endpoint", run.Err);
        Assert.Contains("maximum context length", run.Err);
        Assert.Contains("--allow-errors", run.Err);
        var summary = EvalCli.Summary(dir);
        Assert.Equal(50.0, summary["tasks"]!["niah_single_1"]!["1024"]!.GetValue<double>());   // 3 right, 3 failed = 0
        Assert.Equal(3, summary["errors_by_task"]!["niah_single_1"]!["1024"]!.GetValue<int>());
        Assert.Equal(3, summary["errors"]!.GetValue<int>());
        Assert.Null(summary["effective_length"]);
        Assert.False(summary["comparable"]!.GetValue<bool>());
        Assert.Contains("3 of 6 items failed (each counts as 0; rerun to retry them)", summary["comparable_reasons"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Contains("| niah_single_1 | 50.0 (3 failed) |", File.ReadAllText(Path.Combine(dir, "report.md")));

        // Accepting failures exits 0 but changes no score: the rerun retries the 3 failed items, which fail again.
        stub.Reject = (_, _) => (400, "This model's maximum context length is 1000 tokens");
        var before = stub.Requests;
        var accepted = await EvalCli.Run(Http, Ruler(stub, dir, "1k", 6, "--tasks", "niah_single_1", "--allow-errors", "--retries", "0"));
        Assert.Equal(0, accepted.Code);
        Assert.Contains("warning: 3 of 6 items failed", accepted.Err);
        Assert.Equal(3, stub.Requests - before);
        Assert.Equal(50.0, EvalCli.Summary(dir)["tasks"]!["niah_single_1"]!["1024"]!.GetValue<double>());

        // Retrying recovers: the next run sends only the failed items.
        stub.Reject = null;
        before = stub.Requests;
        Assert.Equal(0, (await EvalCli.Run(Http, Ruler(stub, dir, "1k", 6, "--tasks", "niah_single_1"))).Code);
        Assert.Equal(3, stub.Requests - before);
        summary = EvalCli.Summary(dir);
        Assert.Equal(100.0, summary["tasks"]!["niah_single_1"]!["1024"]!.GetValue<double>());
        Assert.Equal(0, summary["errors"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_hanging_request_times_out_counts_as_wrong_and_fails_the_command()
    {
        using var stub = new StubOpenAiServer { Hang = n => n == 1, HangFor = TimeSpan.FromSeconds(4) };
        var dir = EvalFixtures.TempDir("ruler-hang");
        var run = await EvalCli.Run(Http, Ruler(stub, dir, "1k", 3, "--tasks", "niah_single_1", "--timeout", "1", "--retries", "0", "--concurrency", "3"));
        Assert.Equal(3, run.Code);
        Assert.Contains("did not answer within 1s (0 retries)", run.Err);
        var records = ResultStore.Read(dir);
        Assert.Equal(3, records.Count);
        Assert.Single(records, r => r.Error is not null);
        Assert.Equal(200.0 / 3, EvalCli.Summary(dir)["tasks"]!["niah_single_1"]!["1024"]!.GetValue<double>(), 1);
    }

    [Fact]
    public async Task An_echoed_prompt_is_flagged_and_scored_as_ruler_scores_it_but_zeroed_in_our_own_niah()
    {
        using var stub = new StubOpenAiServer { Echo = true };
        var dir = EvalFixtures.TempDir("ruler-echo");
        Assert.Equal(0, (await EvalCli.Run(Http, Ruler(stub, dir, "1k", 2, "--tasks", "niah_single_1"))).Code);
        var records = ResultStore.Read(dir);
        Assert.All(records, r => { Assert.True(r.Echo); Assert.Equal(100, r.Score); });   // RULER's string_match_all finds the value
        Assert.Equal(2, EvalCli.Summary(dir)["echoes"]!.GetValue<int>());

        var niah = EvalFixtures.TempDir("niah-echo");
        Assert.Equal(0, (await EvalCli.Run(Http, Niah(stub, niah, "512", 2))).Code);
        Assert.All(ResultStore.Read(niah), r => { Assert.True(r.Echo); Assert.Equal(0, r.Score); });
    }

    [Fact]
    public async Task Auto_mode_puts_the_answer_prefix_after_the_assistant_header_when_completions_and_the_template_exist()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("ruler-auto");
        var withTemplate = EvalCli.Http(template: LongContext.Eval.Backends.ChatTemplates.Llama3);
        Assert.Equal(0, (await EvalCli.Run(withTemplate, Ruler(stub, dir, "1k", 1, "--tasks", "niah_single_1"))).Code);
        Assert.Equal(["/v1/completions", "/v1/completions"], stub.Paths);   // the probe, then the item
        var prompt = stub.Prompts[^1];
        Assert.StartsWith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nA special magic number", prompt);
        Assert.Matches(@"<\|eot_id\|><\|start_header_id\|>assistant<\|end_header_id\|>\n\n The special magic number for \S+ mentioned in the provided text is$", prompt);
        var manifest = RunManifest.Read(dir);
        Assert.Equal("assistant_turn", manifest.PrefixPlacement);
        Assert.Contains("auto: ", manifest.PlacementNote);
        Assert.Contains("template llama3 is known, so completions", manifest.PlacementNote);

        using var chatOnly = new StubOpenAiServer { NoCompletions = true };
        var dir2 = EvalFixtures.TempDir("ruler-auto-chat");
        Assert.Equal(0, (await EvalCli.Run(withTemplate, Ruler(chatOnly, dir2, "1k", 1, "--tasks", "niah_single_1"))).Code);
        Assert.Equal("user_message_end", RunManifest.Read(dir2).PrefixPlacement);
        Assert.Contains("answered 404", RunManifest.Read(dir2).PlacementNote);
        Assert.EndsWith(" mentioned in the provided text is", chatOnly.Prompts[^1]);
    }

    [Fact]
    public async Task Niah_with_an_llm_judge_scores_through_the_judge_endpoint()
    {
        using var stub = new StubOpenAiServer();
        using var judge = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("niah-judge");
        var args = Niah(stub, dir, "512,2k", 3).Concat(["--judge-endpoint", judge.BaseUrl.ToString()]).ToArray();
        Assert.Equal(0, (await EvalCli.Run(Http, args)).Code);
        Assert.Equal(6, judge.Requests);
        var records = ResultStore.Read(dir);
        Assert.All(records, r => Assert.Null(r.Error));
        Assert.Equal([30.0, 100.0], records.Select(r => r.Score).Distinct().Order());   // judge's 3/10 for the stub's wrong mid-depth answer
        Assert.Contains("judge", File.ReadAllText(Path.Combine(dir, "manifest.json")));
    }

    [Fact]
    public async Task Gkamradt_preset_runs_the_original_prompt_with_the_judge_or_the_documented_substring_score()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("niah-gkamradt");
        var run = await EvalCli.Run(Http, ["eval", "niah", "--preset", "gkamradt", "--essays", EvalFixtures.Essays, "--endpoint", stub.BaseUrl.ToString(),
            "--tokenizer", "t", "--lengths", "1k,2k", "--depths", "3", "--out", dir, "--json"]);
        Assert.True(run.Code == 0, run.Err);
        Assert.Equal(100, EvalCli.Summary(dir)["score"]!.GetValue<double>());
        Assert.All(stub.Conversations, p =>
        {
            Assert.StartsWith("You are a helpful AI bot that answers questions for a user. Keep your response short and direct\n", p);
            Assert.EndsWith("\nWhat is the best thing to do in San Francisco? Don't give information outside the document or repeat your findings", p);
        });
        var note = RunManifest.Read(dir).Tasks[0];
        Assert.Equal("gkamradt", note.Task);
        Assert.False(note.Comparable);
        Assert.Contains("not the original 49 Paul Graham essays", note.Note);
        Assert.Contains("substring score", note.Note);

        using var judge = new StubOpenAiServer();
        var judged = EvalFixtures.TempDir("niah-gkamradt-judge");
        Assert.Equal(0, (await EvalCli.Run(Http, ["eval", "niah", "--preset", "gkamradt", "--essays", EvalFixtures.Essays, "--endpoint", stub.BaseUrl.ToString(),
            "--tokenizer", "t", "--lengths", "1k", "--depths", "2", "--out", judged, "--judge-endpoint", judge.BaseUrl.ToString()])).Code);
        Assert.Equal(2, judge.Requests);
        Assert.All(ResultStore.Read(judged), r => Assert.Equal(100, r.Score));
    }

    [Fact]
    public async Task LangChain_preset_scores_the_fraction_of_needles_found()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("niah-langchain");
        Assert.Equal(0, (await EvalCli.Run(Http, ["eval", "niah", "--preset", "langchain-multi", "--essays", EvalFixtures.Essays, "--endpoint", stub.BaseUrl.ToString(),
            "--tokenizer", "t", "--lengths", "1k", "--depths", "2", "--out", dir])).Code);
        Assert.Equal(100, EvalCli.Summary(dir)["score"]!.GetValue<double>());
        Assert.All(stub.Conversations, p => Assert.Equal(3, p.Split("is one of the secret ingredients needed to build the perfect pizza.").Length - 1 + p.Split("are one of the secret ingredients").Length - 1));
    }

    [Fact]
    public async Task Ruler_without_data_skips_essay_and_qa_tasks_with_a_note()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("ruler-nodata");
        Assert.Equal(0, (await EvalCli.Run(Http, ["eval", "ruler", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--lengths", "1k", "--samples", "1", "--out", dir])).Code);
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
        Assert.Equal(130, (await EvalCli.Run(Http, Niah(stub, dir, "512,1k", 4, concurrency: 1), cts.Token)).Code);
        var stored = ResultStore.Read(dir).Count;
        Assert.InRange(stored, 2, 3);

        stub.OnRequest = null;
        var before = stub.Requests;
        Assert.Equal(0, (await EvalCli.Run(Http, Niah(stub, dir, "512,1k", 4, concurrency: 1))).Code);
        Assert.Equal(8 - stored, stub.Requests - before);
        Assert.Equal(8, ResultStore.Read(dir).Count);

        // Changing a prompt-affecting argument changes the config hash: everything is recomputed under the new key.
        var args = Niah(stub, dir, "512,1k", 4, concurrency: 1).Append("--seed").Append("7").ToArray();
        before = stub.Requests;
        Assert.Equal(0, (await EvalCli.Run(Http, args)).Code);
        Assert.Equal(8, stub.Requests - before);
    }

    [Fact]
    public async Task Missing_tokenizer_and_in_process_model_give_clear_errors()
    {
        var dir = EvalFixtures.TempDir("errors");
        var noTokenizer = await EvalCli.Run(Http, ["eval", "niah", "--endpoint", "http://127.0.0.1:1/v1", "--out", dir]);
        Assert.Equal(1, noTokenizer.Code);
        Assert.Contains("--endpoint needs --tokenizer DIR", noTokenizer.Err);
        var noEngine = await EvalCli.Run(Http, ["eval", "niah", "--model", "/models/x", "--out", dir]);
        Assert.Equal(1, noEngine.Code);
        Assert.Contains("in-process engine is not available in this build", noEngine.Err);
        var noOut = await EvalCli.Run(Http, ["eval", "niah", "--endpoint", "http://127.0.0.1:1/v1", "--tokenizer", "t"]);
        Assert.Equal(1, noOut.Code);
        Assert.Contains("--out DIR is required", noOut.Err);
    }

    [Fact]
    public async Task Icl_run_reports_accuracy_rising_with_shots_over_several_draws()
    {
        using var stub = new StubOpenAiServer();
        var dir = EvalFixtures.TempDir("icl");
        Assert.Equal(0, (await EvalCli.Run(Http, ["eval", "icl", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--shots", "8,64,512", "--queries", "12", "--seeds", "2", "--out", dir])).Code);
        Assert.Equal(3 * 12 * 2, stub.Requests);
        var summary = EvalCli.Summary(dir);
        var acc = summary["accuracy_by_shots"]!.AsObject();
        Assert.True(acc["512"]!.GetValue<double>() > acc["8"]!.GetValue<double>());
        Assert.NotNull(summary["accuracy_sd_by_shots"]!["8"]);
        Assert.True(File.Exists(Path.Combine(dir, "icl_accuracy.png")));
        Assert.Contains("mean ± sd over draws", File.ReadAllText(Path.Combine(dir, "report.md")));
    }
}
