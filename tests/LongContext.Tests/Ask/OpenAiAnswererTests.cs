using LongContext.Eval.Backends;
using LongContext.Eval.Context;

namespace LongContext.Tests.Ask;

public class OpenAiAnswererTests
{
    [Fact]
    public async Task An_event_spread_over_several_data_lines_is_read_as_one_event()
    {
        using var stub = new StreamingStubServer { MultiLineEvents = true, Pieces = ["Multi", "-line", " events."] };
        using var answerer = new OpenAiAnswerer(new OpenAiHttpOptions { BaseUrl = stub.BaseUrl });
        var streamed = new List<string>();
        var result = await answerer.AnswerAsync("Why?", new AnswerOptions { MaxNewTokens = 20 }, streamed.Add, default);
        Assert.Equal("Multi-line events.", result.Text);
        Assert.Equal(["Multi", "-line", " events."], streamed);
        Assert.True(result.Streamed);
        Assert.Equal("stop", result.FinishReason);
        Assert.Equal(123, result.PromptTokens);
    }
}
