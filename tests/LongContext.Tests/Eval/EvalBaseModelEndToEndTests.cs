using System.Text.Json;
using LongContext.Cli;
using LongContext.Core.Inference;
using LongContext.Eval.Backends;
using LongContext.Eval.Engine;
using LongContext.Eval.Perplexity;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

/// <summary>
/// The base-model evaluations end to end through the CLI: passkey and perplexity by position on the in-process
/// engine (the tiny random fixture model on the CPU; its scores are near 0 and not checked), and passkey over a stub's
/// /v1/completions.
/// </summary>
public class EvalBaseModelEndToEndTests
{
    static string DocsDir(int docs, int words)
    {
        var dir = EvalFixtures.TempDir("ppl-docs");
        for (var d = 0; d < docs; d++)
            File.WriteAllText(Path.Combine(dir, $"doc{d}.txt"), string.Join(' ', Enumerable.Range(0, words).Select(i => $"token{(i * 13 + d) % 50} and more")));
        return dir;
    }

    [Fact]
    public async Task Passkey_on_the_in_process_engine_sends_raw_prompts_with_bos_fitted_to_each_length()
    {
        var model = EvalInProcessEndToEndTests.ModelDir();
        var dir = EvalFixtures.TempDir("passkey-local");
        string[] args = ["eval", "passkey", "--model", model, "--lengths", "300,600", "--depths", "2", "--samples", "1", "--max-new-tokens", "4", "--out", dir, "--json"];
        var made = await EvalInProcessEndToEndTests.WithEngine(async (backends, made, _) =>
        {
            var (code, stdout, _) = await EvalCli.Run(backends, args);
            Assert.Equal(0, code);
            var summary = CliRun.LastJson(stdout);
            Assert.Equal("passkey", summary.GetProperty("suite").GetString());
            Assert.Equal(4, summary.GetProperty("items").GetInt32());
            return made;
        });
        var tokenizer = LongContext.Formats.Tokenization.HfTokenizer.Load(model);
        var prompts = made.Single().Prompts;
        Assert.Equal(4, prompts.Count);
        Assert.All(prompts, ids =>
        {
            Assert.Equal(tokenizer.BosTokenId, ids[0]);                                  // raw completion: BOS from the tokenizer, no chat template
            Assert.StartsWith("There is an important info hidden", tokenizer.Decode(ids, skipSpecialTokens: true));
        });
        var records = ResultStore.Read(dir);
        Assert.All(records, r =>
        {
            Assert.Null(r.Error);
            Assert.Equal(r.PromptTokens, r.ServerPromptTokens);
            Assert.InRange(r.PromptTokens!.Value + 4, r.Length - 30, r.Length);
            Assert.NotNull(r.Details!["key"]);
        });
        Assert.True(File.Exists(Path.Combine(dir, "passkey_heatmap.png")));
    }

    [Fact]
    public async Task Passkey_over_an_endpoint_uses_completions_with_the_bare_prompt_and_resumes()
    {
        using var stub = new StubOpenAiServer { Answerer = PasskeyTests.PasskeyReader.Answer };
        var dir = EvalFixtures.TempDir("passkey-http");
        var backends = EvalCli.Http(new TestTokenizer());
        {
            string[] args = ["eval", "passkey", "--endpoint", stub.BaseUrl.ToString(), "--tokenizer", "t", "--lengths", "512,4k", "--depths", "3", "--samples", "2", "--out", dir, "--json"];
            var (code, stdout, _) = await EvalCli.Run(backends, args);
            Assert.Equal(0, code);
            Assert.Equal(12, stub.Requests);
            Assert.All(stub.Paths, p => Assert.Equal("/v1/completions", p));
            Assert.All(stub.Prompts, p => { Assert.StartsWith(LongContext.Eval.Passkey.PasskeyPrompt.TaskDescription, p); Assert.EndsWith("The pass key is", p); });
            var summary = CliRun.LastJson(stdout);
            Assert.Equal(100, summary.GetProperty("per_length").GetProperty("512").GetDouble());
            Assert.Equal(66.67, summary.GetProperty("per_length").GetProperty("4096").GetDouble());

            Assert.Equal(0, (await EvalCli.Run(backends, args)).Code);
            Assert.Equal(12, stub.Requests);
        }
    }

    [Fact]
    public async Task Perplexity_on_the_in_process_engine_writes_buckets_and_resumes_by_document()
    {
        var model = EvalInProcessEndToEndTests.ModelDir();
        var data = DocsDir(docs: 3, words: 60);
        var dir = EvalFixtures.TempDir("ppl-local");
        string[] args = ["eval", "perplexity", "--model", model, "--data", data, "--length", "200", "--bucket", "64", "--documents", "2", "--chunk", "48", "--out", dir, "--json"];
        await EvalInProcessEndToEndTests.WithEngine(async (backends, _, _) =>
        {
            var (code, stdout, stderr) = await EvalCli.Run(backends, args);
            Assert.True(code == 0, stderr);
            var s = CliRun.LastJson(stdout);
            Assert.Equal(2, s.GetProperty("scored_now").GetInt32());
            Assert.Equal(2, s.GetProperty("documents").GetInt32());
            Assert.Equal(2 * 199, s.GetProperty("tokens").GetInt64());
            var buckets = s.GetProperty("buckets").EnumerateArray().ToList();
            Assert.Equal(4, buckets.Count);                                            // 0–64, 64–128, 128–192, 192–256
            Assert.All(buckets, b => Assert.InRange(b.GetProperty("mean_nll").GetDouble(), 1, 30));   // finite, positive (random weights)
            Assert.Contains("perplexity: document 2/2 doc1.txt: 200/200 tokens", stderr);

            var again = CliRun.LastJson((await EvalCli.Run(backends, args)).Out);
            Assert.Equal(0, again.GetProperty("scored_now").GetInt32());
            Assert.Equal(2, again.GetProperty("resumed").GetInt32());
            Assert.Equal(s.GetProperty("mean_nll").GetDouble(), again.GetProperty("mean_nll").GetDouble());

            var report = CliRun.LastJson((await EvalCli.Run(backends, ["eval", "report", dir, "--json"])).Out);
            Assert.Equal("perplexity", report.GetProperty("suite").GetString());
            return 0;
        });
        Assert.True(new FileInfo(Path.Combine(dir, "perplexity_by_position.png")).Length > 1000);
    }

    [Fact]
    public void Engine_token_losses_do_not_depend_on_the_chunk_size_and_average_to_the_perplexity_command()
    {
        var model = EvalInProcessEndToEndTests.ModelDir();
        using var session = EngineSession.Open(model, "cpu");
        using var scorer = new EngineTokenLossScorer(EngineSession.Open(model, "cpu"));
        var ids = session.Tokenizer.Encode(File.ReadAllText(Path.Combine(DocsDir(1, 40), "doc0.txt")));
        Assert.True(ids.Count > 100);
        var whole = scorer.TokenLosses(ids, chunk: 4096, null, default);
        var chunked = scorer.TokenLosses(ids, chunk: 17, null, default);
        Assert.Equal(ids.Count - 1, whole.Length);
        for (var i = 0; i < whole.Length; i++) Assert.Equal(whole[i], chunked[i], 1e-4);
        var reference = Perplexity.Compute(session.Model, ids, session.Backend);
        Assert.Equal(reference.MeanNll, whole.Average(x => (double)x), 5);
    }
}
