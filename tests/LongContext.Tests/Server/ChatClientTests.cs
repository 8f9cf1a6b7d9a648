using LongContext.Core.Inference;
using LongContext.Server.AI;
using LongContext.Server.Scheduling;
using Microsoft.Extensions.AI;

namespace LongContext.Tests.Server;

/// <summary>IChatClient over the in-process engine, through the same scheduler the server uses.</summary>
public sealed class ChatClientTests : IDisposable
{
    readonly EngineSession session = TinyModel.Open();
    readonly GenerationScheduler scheduler;
    readonly IChatClient client;

    public ChatClientTests()
    {
        scheduler = new GenerationScheduler(session, new SchedulerOptions { MaxContext = 1024 });
        client = new LongContextChatClient(scheduler);
    }

    List<int> Expected(string user, int maxTokens, string? system = null)
    {
        var turns = new List<LongContext.Formats.Tokenization.ChatMessage>();
        if (system is not null) turns.Add(new("system", system));
        turns.Add(new("user", user));
        return TinyModel.ColdGreedy(session, session.Tokenizer.EncodeChat(turns, addGenerationPrompt: true), maxTokens);
    }

    [Fact]
    public async Task GetResponseAsync_returns_the_greedy_answer_with_usage_and_finish_reason()
    {
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "What is a river?")],
            new ChatOptions { MaxOutputTokens = 9, Temperature = 0 });
        var expected = Expected("What is a river?", 9, system: "Be brief.");
        Assert.Equal(TinyModel.StreamText(session, expected), response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(expected.Count == 9 ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(expected.Count, response.Usage!.OutputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        Assert.Equal(scheduler.ModelId, response.ModelId);
        Assert.Equal(scheduler.ModelId, client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public async Task Streaming_updates_add_up_to_the_same_text_and_end_with_usage()
    {
        var options = new ChatOptions { MaxOutputTokens = 12, Temperature = 0 };
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Say something")], options)) updates.Add(u);
        var expected = Expected("Say something", 12);
        Assert.Equal(TinyModel.StreamText(session, expected), string.Concat(updates.Select(u => u.Text)));
        Assert.True(updates.Count > 2);
        var response = updates.ToChatResponse();
        Assert.Equal(expected.Count, response.Usage!.OutputTokenCount);
        Assert.NotNull(response.FinishReason);
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
    }

    [Fact]
    public async Task Stop_sequences_cut_the_answer_before_the_stop()
    {
        var full = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Continue please")], new ChatOptions { MaxOutputTokens = 40, Temperature = 0 });
        Assert.True(full.Text.Length > 12, $"greedy answer too short: '{full.Text}'");
        var stop = full.Text.Substring(full.Text.Length / 2, 3);
        var cut = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Continue please")],
            new ChatOptions { MaxOutputTokens = 40, Temperature = 0, StopSequences = [stop] });
        Assert.Equal(full.Text[..full.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task Seed_temperature_and_top_p_are_passed_to_the_sampler()
    {
        ChatOptions O(long seed) => new() { MaxOutputTokens = 16, Temperature = 1.0f, TopP = 0.95f, Seed = seed };
        var a = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Random")], O(11));
        var b = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Random")], O(11));
        var greedy = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Random")], new ChatOptions { MaxOutputTokens = 16, Temperature = 0 });
        Assert.Equal(a.Text, b.Text);
        Assert.NotEqual(greedy.Text, a.Text);
    }

    [Fact]
    public async Task Too_many_output_tokens_are_refused_with_a_clear_error()
    {
        var e = await Assert.ThrowsAsync<RequestRejectedException>(() =>
            client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { MaxOutputTokens = 5000 }));
        Assert.Equal(RejectionKind.ContextLengthExceeded, e.Kind);
        Assert.Contains("1024", e.Message);
    }

    public void Dispose()
    {
        client.Dispose();
        scheduler.Dispose();
        session.Dispose();
    }
}
