using System.Text.Json;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

/// <summary>LongBench v2 and NoLiMa through the CLI: over a stub endpoint (scores computed from its answers) and on the in-process fixture model.</summary>
[Collection(CliCollection.Name)]
public class EvalBenchmarksEndToEndTests
{
    static async Task<T> WithTestTokenizer<T>(Func<Task<T>> body)
    {
        var saved = EvalBackends.TokenizerFactory;
        var tok = new TestTokenizer();
        EvalBackends.TokenizerFactory = _ => tok;
        try { return await body(); }
        finally { EvalBackends.TokenizerFactory = saved; }
    }

    [Fact]
    public async Task LongBench_over_an_endpoint_reports_result_py_columns_and_domains_then_resumes()
    {
        using var stub = new StubOpenAiServer { Answerer = LongBenchTests.Reader };
        var dir = EvalFixtures.TempDir("lb-http");
        var data = LongBenchTests.WriteData(EvalFixtures.TempDir("lb-http-data"));
        string[] args = ["eval", "longbench2", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--data", data, "--out", dir, "--json"];
        await WithTestTokenizer(async () =>
        {
            var (code, stdout, stderr) = await CliRun.Capture(args);
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

            Assert.Equal(0, (await CliRun.Capture(args)).Code);
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
        await WithTestTokenizer(async () =>
        {
            var (code, stdout, stderr) = await CliRun.Capture("eval", "longbench2", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--data", data, "--cot", "--out", dir, "--json");
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
        var made = await EvalInProcessEndToEndTests.WithEngine(async (made, _) =>
        {
            var (code, stdout, stderr) = await CliRun.Capture(args);
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
}
