using System.Text.Json;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

/// <summary>LongBench v2 and NoLiMa through the CLI: over a stub endpoint (scores computed from its answers) and on the in-process fixture model.</summary>
public class EvalBenchmarksEndToEndTests
{
    /// <summary>Runs the body with backends whose --tokenizer is the test tokenizer (no engine).</summary>
    static Task<T> WithTestTokenizer<T>(Func<EvalBackends, Task<T>> body) => body(EvalCli.Http(new TestTokenizer()));

    [Fact]
    public async Task LongBench_over_an_endpoint_reports_result_py_columns_and_domains_then_resumes()
    {
        using var stub = new StubOpenAiServer { Answerer = LongBenchTests.Reader };
        var dir = EvalFixtures.TempDir("lb-http");
        var data = LongBenchTests.WriteData(EvalFixtures.TempDir("lb-http-data"));
        string[] args = ["eval", "longbench2", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--data", data, "--out", dir, "--json"];
        await WithTestTokenizer(async backends =>
        {
            var (code, stdout, stderr) = await EvalCli.Run(backends, args);
            Assert.True(code == 0, stderr);
            Assert.Equal(4, stub.Requests);
            Assert.All(stub.Paths, p => Assert.Equal("/v1/chat/completions", p));
            Assert.StartsWith("Please read the following text and answer the question below.\n\n<text>\nword", stub.Prompts[0]);
            var s = CliRun.LastJson(stdout);
            Assert.Equal(75, s.GetProperty("overall").GetDouble());
            Assert.Equal(50, s.GetProperty("easy").GetDouble());
            Assert.Equal(100, s.GetProperty("hard").GetDouble());
            Assert.Equal(50, s.GetProperty("short").GetDouble());
            Assert.Equal(100, s.GetProperty("long").GetDouble());
            Assert.Equal(50, s.GetProperty("by_domain").GetProperty("Code Repository Understanding").GetProperty("accuracy").GetDouble());
            Assert.Equal(0, s.GetProperty("no_answer").GetInt32());
            var report = File.ReadAllText(Path.Combine(dir, "report.md"));
            Assert.Contains("| accuracy | 75.0 | 50.0 | 100.0 | 50.0 | 100.0 | 100.0 |", report);
            var q3 = ResultStore.Read(dir).Single(r => r.Index == "q3");
            Assert.Equal("A", q3.Details!["pred"]!.GetValue<string>());
            Assert.Equal("C", q3.Details["answer"]!.GetValue<string>());

            Assert.Equal(0, (await EvalCli.Run(backends, args)).Code);
            Assert.Equal(4, stub.Requests);
            return 0;
        });
    }

    [Fact]
    public async Task LongBench_cot_asks_twice_and_extracts_the_answer_from_the_second_response()
    {
        using var stub = new StubOpenAiServer { Answerer = LongBenchTests.Reader };
        var dir = EvalFixtures.TempDir("lb-cot");
        var data = LongBenchTests.WriteData(EvalFixtures.TempDir("lb-cot-data"));
        await WithTestTokenizer(async backends =>
        {
            var (code, stdout, stderr) = await EvalCli.Run(backends, ["eval", "longbench2", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--data", data, "--cot", "--out", dir, "--json"]);
            Assert.True(code == 0, stderr);
            Assert.Equal(8, stub.Requests);
            var second = stub.Prompts.Where(p => p.Contains("The text is too long and omitted here.", StringComparison.Ordinal)).ToList();
            Assert.Equal(4, second.Count);
            Assert.All(second, p => Assert.Contains("Let’s think step by step: The code appears in the text, so I pick ", p));
            Assert.Equal(75, CliRun.LastJson(stdout).GetProperty("overall").GetDouble());
            Assert.All(ResultStore.Read(dir), r => Assert.StartsWith("The code appears", r.Details!["response_cot"]!.GetValue<string>()));
            return 0;
        });
    }

    [Fact]
    public async Task LongBench_on_the_in_process_engine_truncates_long_prompts_in_the_middle_to_the_budget()
    {
        var model = EvalInProcessEndToEndTests.ModelDir();
        var dir = EvalFixtures.TempDir("lb-local");
        var data = LongBenchTests.WriteData(EvalFixtures.TempDir("lb-local-data"), contextWords: 300);
        string[] args = ["eval", "longbench2", "--model", model, "--data", data, "--max-length", "400", "--limit", "2", "--out", dir, "--json"];
        var made = await EvalInProcessEndToEndTests.WithEngine(async (backends, made, _) =>
        {
            var (code, stdout, stderr) = await EvalCli.Run(backends, args);
            Assert.True(code == 0, stderr);
            Assert.Equal(2, CliRun.LastJson(stdout).GetProperty("items").GetInt32());
            return made;
        });
        var tokenizer = LongContext.Formats.Tokenization.HfTokenizer.Load(model);
        Assert.All(made.Single().Prompts, ids =>
        {
            var text = tokenizer.Decode(ids, skipSpecialTokens: true);
            Assert.Contains("Please read the following text", text);                   // the head survives the cut
            Assert.Contains("Format your response as follows", text);                  // and so does the tail
            Assert.InRange(ids.Count, 380, 440);                                       // 400 tokens + the chat template's few
        });
        Assert.All(ResultStore.Read(dir), r => { Assert.Null(r.Error); Assert.True(r.Details!["truncated"]!.GetValue<bool>()); });
    }

    [Fact]
    public async Task NoLiMa_over_an_endpoint_scores_by_length_with_base_score_and_effective_length_then_resumes()
    {
        using var stub = new StubOpenAiServer { Answerer = NoLiMaTests.Reader };
        var dir = EvalFixtures.TempDir("nolima-http");
        var data = NoLiMaTests.WriteData();
        string[] args = ["eval", "nolima", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--mode", "chat", "--data", data, "--lengths", "100,200,400", "--depths", "5", "--out", dir, "--json"];
        await WithTestTokenizer(async backends =>
        {
            var (code, stdout, stderr) = await EvalCli.Run(backends, args);
            Assert.True(code == 0, stderr);
            Assert.Equal(3 * 3 * 2 * 5, stub.Requests);                     // lengths × tests × books × depths
            Assert.All(stub.Prompts, p => Assert.StartsWith("You will answer a question based on the following book snippet:\n\n", p));
            var s = CliRun.LastJson(stdout);
            Assert.Equal(60, s.GetProperty("per_length").GetProperty("100").GetDouble());        // depths 0, 25, 50 of 0–100 answered
            Assert.Equal(60, s.GetProperty("base_score").GetDouble());
            Assert.Equal(400, s.GetProperty("effective_length").GetInt32());
            Assert.Equal(60, s.GetProperty("by_question_type").GetProperty("direct").GetProperty("200").GetDouble());
            var records = ResultStore.Read(dir);
            var first = records.Single(r => r.Task == "0401_T17_C02_onehop" && r.Length == 100 && r.Index == "rand_book_2|0");
            var rng = new LongContext.Eval.Text.NumpyLegacyRandom(42 + 401 + 1);               // seed + haystack number, first depth
            Assert.Equal(NoLiMaTests.Characters[rng.Choice(10)], first.Details!["character"]!.GetValue<string>());
            Assert.Equal([first.Details["character"]!.GetValue<string>()], first.References);
            Assert.True(File.Exists(Path.Combine(dir, "nolima_heatmap.png")));
            Assert.Contains("| **all (without direct)** |", File.ReadAllText(Path.Combine(dir, "report.md")));

            Assert.Equal(0, (await EvalCli.Run(backends, args)).Code);
            Assert.Equal(90, stub.Requests);
            return 0;
        });
    }

    [Fact]
    public async Task NoLiMa_on_the_in_process_engine_sends_the_system_prompt_and_the_task_template()
    {
        var model = EvalInProcessEndToEndTests.ModelDir();
        var dir = EvalFixtures.TempDir("nolima-local");
        string[] args = ["eval", "nolima", "--model", model, "--data", NoLiMaTests.WriteData(), "--lengths", "100", "--depths", "2", "--limit", "1", "--max-new-tokens", "4", "--out", dir, "--json"];
        var made = await EvalInProcessEndToEndTests.WithEngine(async (backends, made, _) =>
        {
            var (code, stdout, stderr) = await EvalCli.Run(backends, args);
            Assert.True(code == 0, stderr);
            Assert.Equal(4, CliRun.LastJson(stdout).GetProperty("items").GetInt32());      // 1 test × 2 books × 2 depths
            return made;
        });
        var tokenizer = LongContext.Formats.Tokenization.HfTokenizer.Load(model);
        Assert.All(made.Single().Prompts, ids =>
        {
            var text = tokenizer.Decode(ids);
            Assert.StartsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>", text);
            Assert.Contains("Question: Which character has been to Helsinki?", text);
        });
        Assert.All(ResultStore.Read(dir), r => Assert.Null(r.Error));
    }
}
