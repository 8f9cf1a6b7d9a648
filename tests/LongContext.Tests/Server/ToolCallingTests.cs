using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using LongContext.Core.Inference;
using LongContext.Server.AI;
using LongContext.Server.Http;
using LongContext.Server.Scheduling;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;

namespace LongContext.Tests.Server;

/// <summary>
/// A model served with its Hermes-style (Qwen2.5) template, trained to call get_weather for a weather question and to
/// answer from the tool's result (tests/fixtures/tool_call_model).
/// </summary>
public sealed class ToolModelFixture : IAsyncLifetime
{
    public EngineSession Session { get; private set; } = null!;
    public GenerationScheduler Scheduler { get; private set; } = null!;
    public OpenAiServer Server { get; private set; } = null!;
    public Uri V1 => new(Server.BaseAddress, "v1/");

    public async Task InitializeAsync()
    {
        Session = TinyModel.Open(TinyModel.ToolCaller);
        Scheduler = new GenerationScheduler(Session, new SchedulerOptions { MaxContext = 2048 });
        Server = OpenAiServer.Create(Scheduler, new ServerOptions { Port = 0 });
        await Server.StartAsync();
    }

    public ChatClient Chat() => new(Scheduler.ModelId, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = V1, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Scheduler.Dispose();
        Session.Dispose();
    }
}

/// <summary>OpenAI tools end to end: the official .NET SDK, raw HTTP, and IChatClient over the same engine.</summary>
[Collection(CliCollection.Name)]
public sealed class ToolCallingTests(ToolModelFixture f) : IClassFixture<ToolModelFixture>
{
    const string Schema = """{"type": "object", "properties": {"city": {"type": "string", "description": "The city"}}, "required": ["city"]}""";
    static readonly ChatTool Weather = ChatTool.CreateFunctionTool("get_weather", "Get the current weather in a city", BinaryData.FromString(Schema));

    static ChatCompletionOptions WithTools(ChatToolChoice? choice = null)
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 60, Tools = { Weather } };
        if (choice is not null) options.ToolChoice = choice;
        return options;
    }

    static void AssertParisCall(string name, string arguments)
    {
        Assert.Equal("get_weather", name);
        Assert.Equal("Paris", JsonDocument.Parse(arguments).RootElement.GetProperty("city").GetString());
    }

    [Fact]
    public async Task The_sdk_gets_the_models_call_as_tool_calls_with_finish_reason_tool_calls()
    {
        var completion = (await f.Chat().CompleteChatAsync([new UserChatMessage("What is the weather in Paris?")], WithTools())).Value;
        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        AssertParisCall(call.FunctionName, call.FunctionArguments.ToString());
        Assert.StartsWith("call_", call.Id);
        Assert.DoesNotContain(completion.Content, part => part.Text.Contains("tool_call", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Streaming_sends_the_call_as_tool_call_deltas_and_no_markup_as_content()
    {
        var content = new StringBuilder();
        var name = new StringBuilder();
        var arguments = new StringBuilder();
        OpenAI.Chat.ChatFinishReason? finish = null;
        await foreach (var update in f.Chat().CompleteChatStreamingAsync([new UserChatMessage("What is the weather in Paris?")], WithTools()))
        {
            foreach (var part in update.ContentUpdate) content.Append(part.Text);
            foreach (var call in update.ToolCallUpdates)
            {
                name.Append(call.FunctionName);
                arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, finish);
        AssertParisCall(name.ToString(), arguments.ToString());
        Assert.DoesNotContain("<tool_call>", content.ToString());
    }

    [Fact]
    public async Task The_tool_result_goes_back_through_the_template_and_the_model_answers_from_it()
    {
        var call = ChatToolCall.CreateFunctionToolCall("call_1", "get_weather", BinaryData.FromString("""{"city": "Paris"}"""));
        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage("What is the weather in Paris?"), new AssistantChatMessage([call]), new ToolChatMessage("call_1", "sunny, 22 C")];
        var completion = (await f.Chat().CompleteChatAsync(messages, WithTools())).Value;
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
        Assert.Empty(completion.ToolCalls);
        Assert.Equal("It is sunny in Paris.", completion.Content[0].Text);
    }

    [Fact]
    public async Task Tool_choice_none_renders_no_tools_and_parses_no_calls()
    {
        var completion = (await f.Chat().CompleteChatAsync([new UserChatMessage("What is the weather in Paris?")], WithTools(ChatToolChoice.CreateNoneChoice()))).Value;
        Assert.NotEqual(OpenAI.Chat.ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Empty(completion.ToolCalls);
        var withTools = (await f.Chat().CompleteChatAsync([new UserChatMessage("What is the weather in Paris?")], WithTools())).Value;
        Assert.True(completion.Usage.InputTokenCount < withTools.Usage.InputTokenCount, "tool_choice none still rendered the tools");
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"retrieval"}]}""", "tools[0].type")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"description":"no name"}}]}""", "tools[0].function")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}}""", "tool_choice")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":"always"}""", "tool_choice")]
    [InlineData("""{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"x","type":"function"}]}]}""", "messages[0]")]
    public async Task Malformed_tools_are_400_naming_the_field(string json, string param)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(f.V1, "chat/completions"), new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task The_chat_client_maps_tools_to_function_calls_and_function_results_back()
    {
        IChatClient client = new LongContextChatClient(f.Scheduler);
        var tool = AIFunctionFactory.CreateDeclaration("get_weather", "Get the current weather in a city", JsonDocument.Parse(Schema).RootElement);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 60, Tools = [tool] };
        List<Microsoft.Extensions.AI.ChatMessage> history = [new(ChatRole.User, "What is the weather in Paris?")];
        var first = await client.GetResponseAsync(history, options);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.Messages.Single().Contents.OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", call.Arguments!["city"]?.ToString());

        history.AddRange(first.Messages);
        history.Add(new Microsoft.Extensions.AI.ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "sunny, 22 C")]));
        var second = await client.GetResponseAsync(history, options);
        Assert.Equal("It is sunny in Paris.", second.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Stop, second.FinishReason);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(history[..1], options)) updates.Add(u);
        Assert.Single(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>());
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.ToolCalls, updates[^1].FinishReason);
        Assert.DoesNotContain("<tool_call>", string.Concat(updates.Select(u => u.Text)));
    }

    [Fact]
    public async Task The_chat_command_with_tools_shows_the_call_takes_the_result_and_prints_the_answer()
    {
        var dir = Directory.CreateTempSubdirectory("lc-chat-tools-").FullName;
        var tools = Path.Combine(dir, "tools.json");
        File.WriteAllText(tools, """[{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city", "parameters": """ + Schema + "}}]");
        var previous = Console.In;
        Console.SetIn(new StringReader("What is the weather in Paris?\nsunny, 22 C\n\n"));
        try
        {
            var (code, stdout, stderr) = await CliRun.Capture("chat", "--model", TinyModel.Dir(TinyModel.ToolCaller), "--device", "cpu", "--tools", tools, "--temperature", "0");
            Assert.True(code == 0, stderr);
            Assert.Contains("tool call: get_weather({\"city\": \"Paris\"})", stdout);
            Assert.Contains("result of get_weather> ", stdout);
            Assert.Contains("It is sunny in Paris.", stdout);
            Assert.DoesNotContain("<tool_call>", stdout);
        }
        finally
        {
            Console.SetIn(previous);
            Directory.Delete(dir, recursive: true);
        }
    }
}
