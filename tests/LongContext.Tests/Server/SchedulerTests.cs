using LongContext.Core.Inference;
using LongContext.Server.Scheduling;

namespace LongContext.Tests.Server;

public sealed class SchedulerTests : IDisposable
{
    readonly EngineSession session = TinyModel.Open();

    IReadOnlyList<int> Prompt(string text) => session.Tokenizer.Encode(text);

    [Fact]
    public async Task Submissions_beyond_the_queue_capacity_are_refused_and_the_rest_complete()
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 1024, QueueCapacity = 2 });
        var accepted = new List<GenerationHandle>();
        int refused = 0;
        for (int i = 0; i < 10; i++)
        {
            try
            {
                accepted.Add(scheduler.Submit(new GenerationRequest { PromptIds = Prompt(TinyModel.Filler(200, seed: i)), MaxTokens = 50, Temperature = 0 }));
            }
            catch (RequestRejectedException e) when (e.Kind == RejectionKind.QueueFull)
            {
                refused++;
            }
        }
        Assert.True(refused >= 1, "ten immediate submissions should overflow a queue of 2");
        Assert.InRange(accepted.Count, 2, 9);
        foreach (var h in accepted) Assert.True((await h.ReadToEndAsync()).Summary.CompletionTokens > 0);
        Assert.Equal(refused, scheduler.Stats.RequestsRejected);
        Assert.Equal(0, scheduler.Stats.QueueLength);
    }

    [Fact]
    public async Task Cancelling_a_request_stops_generation_and_frees_the_engine()
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 4096 });
        using var cts = new CancellationTokenSource();
        var handle = scheduler.Submit(new GenerationRequest { PromptIds = Prompt("Hello"), MaxTokens = 3000, Temperature = 0 }, cts.Token);
        int pieces = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in handle.ReadTextAsync())
                if (++pieces == 3) cts.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => handle.Completion);
        Assert.Equal(1, scheduler.Stats.RequestsCancelled);
        Assert.Equal(0, scheduler.Stats.ActiveRequests);
        var next = await scheduler.Submit(new GenerationRequest { PromptIds = Prompt("Next"), MaxTokens = 3, Temperature = 0 }).ReadToEndAsync();
        Assert.Equal(TinyModel.ColdGreedy(session, Prompt("Next"), 3), next.Summary.CompletionIds);
    }

    [Theory]
    [InlineData(0, null, RejectionKind.InvalidRequest, "max_tokens")]
    [InlineData(200, null, RejectionKind.ContextLengthExceeded, "max_tokens")]
    [InlineData(5, 2.5, RejectionKind.InvalidRequest, "temperature")]
    public void Invalid_parameters_are_refused_with_the_field_named(int maxTokens, double? temperature, RejectionKind kind, string param)
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 64 });
        var e = Assert.Throws<RequestRejectedException>(() =>
            scheduler.Submit(new GenerationRequest { PromptIds = Prompt("hello world"), MaxTokens = maxTokens, Temperature = temperature }));
        Assert.Equal(kind, e.Kind);
        Assert.Equal(param, e.Param);
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_refused()
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 64 });
        var e = Assert.Throws<RequestRejectedException>(() => scheduler.Submit(new GenerationRequest { PromptIds = Prompt(TinyModel.Filler(100)) }));
        Assert.Equal(RejectionKind.ContextLengthExceeded, e.Kind);
        Assert.Contains("64", e.Message);
    }

    [Fact]
    public async Task Stop_strings_end_generation_before_the_stop_text()
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 512 });
        var prompt = Prompt("Once upon a time");
        var full = await scheduler.Submit(new GenerationRequest { PromptIds = prompt, MaxTokens = 40, Temperature = 0 }).ReadToEndAsync();
        Assert.True(full.Text.Length > 12, $"greedy text too short to pick a stop from: '{full.Text}'");
        var stop = full.Text.Substring(full.Text.Length / 2, 3);
        var cut = await scheduler.Submit(new GenerationRequest { PromptIds = prompt, MaxTokens = 40, Temperature = 0, Stop = [stop] }).ReadToEndAsync();
        Assert.Equal(full.Text[..full.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(FinishReason.Stop, cut.Summary.FinishReason);
        Assert.Equal(FinishReason.Length, full.Summary.FinishReason);
    }

    [Fact]
    public async Task The_engine_and_the_scheduler_stop_at_the_same_token_for_the_same_stop_string()
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 512, PrefixCacheEntries = 0 });
        var prompt = Prompt("Once upon a time");
        var full = await scheduler.Submit(new GenerationRequest { PromptIds = prompt, MaxTokens = 40, Temperature = 0 }).ReadToEndAsync();
        var stop = full.Text.Substring(full.Text.Length / 2, 3);
        var served = await scheduler.Submit(new GenerationRequest { PromptIds = prompt, MaxTokens = 40, Temperature = 0, Stop = [stop] }).ReadToEndAsync();
        var engine = session.Generator.Generate(prompt, new GenerationOptions { MaxNewTokens = 40, StopTokenIds = session.StopTokenIds, StopStrings = [stop] }).ToList();
        Assert.Equal(engine, served.Summary.CompletionIds);
        Assert.True(engine.Count < full.Summary.CompletionTokens, "the stop string should end both runs early");
    }

    [Fact]
    public async Task Same_seed_gives_the_same_sample()
    {
        using var scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 512 });
        GenerationRequest R(long seed) => new() { PromptIds = Prompt("Random words"), MaxTokens = 20, Temperature = 1.0, TopP = 0.9, Seed = seed };
        var a = await scheduler.Submit(R(5)).ReadToEndAsync();
        var b = await scheduler.Submit(R(5)).ReadToEndAsync();
        Assert.Equal(a.Summary.CompletionIds, b.Summary.CompletionIds);
    }

    public void Dispose() => session.Dispose();
}
