using LongContext.Eval;
using LongContext.Eval.Backends;
using LongContext.Eval.Runs;

namespace LongContext.Tests.Eval;

public class HttpBackendTests
{
    [Fact]
    public void Chat_mode_appends_the_answer_prefix_to_the_user_message()
    {
        using var b = new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = new Uri("http://127.0.0.1:9"), Model = "m" });
        var body = b.BuildBody(GenerationRequest.FromUser("Question?", " Answer:", 30));
        Assert.Equal("Question? Answer:", body["messages"]![0]!["content"]!.GetValue<string>());
        Assert.Equal(0.0, body["temperature"]!.GetValue<double>());
        Assert.Equal(30, body["max_tokens"]!.GetValue<int>());
        Assert.Equal(PrefixPlacement.UserMessageEnd, b.PrefixPlacement);
        Assert.Contains("http://127.0.0.1:9/v1/", b.Describe);
    }

    [Fact]
    public void Completions_mode_renders_the_chat_template_then_the_prefix()
    {
        using var b = new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = new Uri("http://127.0.0.1:9/v1"), Mode = EndpointMode.Completions, ChatTemplate = LongContext.Eval.Backends.ChatTemplates.Llama3 });
        var body = b.BuildBody(GenerationRequest.FromUser("Question?", " Answer:", 30));
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nQuestion?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n Answer:", body["prompt"]!.GetValue<string>());
        Assert.Equal(PrefixPlacement.AssistantTurn, b.PrefixPlacement);
        Assert.Throws<EvalException>(() => new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = new Uri("http://x"), Mode = EndpointMode.Completions }));
    }

    [Fact]
    public async Task Retries_429_then_succeeds_and_reports_unreachable_servers_clearly()
    {
        using var stub = new StubOpenAiServer(fail429First: 2);
        using var b = new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = stub.BaseUrl, RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
        var r = await b.GenerateAsync(GenerationRequest.FromUser("One of the special magic numbers for a-b is: 1234567.\nWhat is the special magic number for a-b mentioned in the provided text?", "", 10), default);
        Assert.Contains("1234567", r.Text);
        Assert.Equal(1, stub.Requests);

        using var dead = new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = new Uri("http://127.0.0.1:1/v1"), MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(1) });
        var e = await Assert.ThrowsAsync<EvalException>(() => dead.GenerateAsync(GenerationRequest.FromUser("x", "", 5), default));
        Assert.Contains("unreachable", e.Message);
    }

    [Fact]
    public async Task Zero_retries_fails_the_first_attempt_without_a_retry_strategy_error()
    {
        using var stub = new StubOpenAiServer(fail429First: 5);
        using var b = new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = stub.BaseUrl, MaxRetries = 0 });
        var e = await Assert.ThrowsAsync<EvalException>(() => b.GenerateAsync(GenerationRequest.FromUser("x", "", 5), default));
        Assert.Contains("answered 429", e.Message);
        Assert.Throws<EvalException>(() => new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = stub.BaseUrl, MaxRetries = -1 }));
    }

    [Fact]
    public async Task An_echoed_prompt_is_flagged_and_scored_by_rulers_metric_not_zeroed()
    {
        using var stub = new StubOpenAiServer { Echo = true };
        using var b = new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = stub.BaseUrl });
        var m = EvalFixtures.Measurer(new RegexWordTokenizer(), placement: PrefixPlacement.UserMessageEnd);
        var task = LongContext.Eval.Ruler.RulerTask.Create("niah_single_1", EvalFixtures.AllData());
        var s = task.Generate(1024, 0, 42, m);
        var dir = EvalFixtures.TempDir("echo");
        var runner = new EvalRunner(b, new ResultStore(dir), "h", 1);
        await runner.RunAsync([new EvalItemPlan("ruler", s.Task, 1024, "0", null, () => LongContext.Eval.Ruler.RulerSuite.ToItem(s, m))], null, default);
        var rec = Assert.Single(ResultStore.Read(dir));
        Assert.True(rec.Echo);
        Assert.Equal(100, rec.Score);                                  // RULER's string_match_all: the value is in the response
        Assert.Contains(s.Outputs[0], rec.Prediction);
    }

    [Fact]
    public async Task Local_backend_renders_template_and_prefix_and_stops_at_eos()
    {
        var tok = new TestTokenizer();
        var gen = new FakeGenerator(tok);
        var b = new LocalBackend(gen);
        var r = await b.GenerateAsync(GenerationRequest.FromUser("Say hi", " Answer:", 5), default);
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nSay hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n Answer:", tok.Decode(gen.LastPrompt!));
        Assert.Equal(" hello there", r.Text);
        Assert.Equal("stop", r.FinishReason);
        Assert.Equal(PrefixPlacement.AssistantTurn, r.PrefixPlacement);
    }

    private sealed class FakeGenerator(TestTokenizer tok) : ILocalGenerator
    {
        public IReadOnlyList<int>? LastPrompt;
        public LongContext.Formats.Tokenization.ITextTokenizer Tokenizer => tok;
        public IChatTemplate ChatTemplate => LongContext.Eval.Backends.ChatTemplates.Llama3;
        public int? MaxSequenceLength => 4096;
        public string ModelId => "fake";
        public IReadOnlyList<int> Generate(IReadOnlyList<int> promptIds, int maxNewTokens, IReadOnlyCollection<int> stopIds, CancellationToken ct)
        {
            LastPrompt = promptIds;
            return [.. tok.Encode(" hello there"), tok.EosTokenId!.Value, .. tok.Encode(" ignored")];
        }
    }
}
