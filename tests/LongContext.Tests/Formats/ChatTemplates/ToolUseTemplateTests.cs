using System.Text.Json;
using LongContext.Formats.ChatTemplates;
using LongContext.Formats.Tokenization;

namespace LongContext.Tests.Formats.ChatTemplates;

/// <summary>
/// Tools, tool calls, tool results and template kwargs reach the template through the typed API, and a
/// chat_template list picks "tool_use" when tools are given (transformers' get_chat_template).
/// The renders of real tool-calling templates are compared with jinja2 in ChatFixtureTests.
/// </summary>
public class ToolUseTemplateTests
{
    private const string TokenizerJson = """
        {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}}
        """;

    private static readonly JsonElement Weather = JsonDocument.Parse("""
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"days": {"type": "integer", "default": 3}}}}}
        """).RootElement;

    private static HfTokenizer WithTemplates(string chatTemplateJson) =>
        HfTokenizer.FromJson(TokenizerJson, tokenizerConfig: JsonDocument.Parse($$"""{"chat_template": {{chatTemplateJson}}}""").RootElement);

    private const string NamedTemplates = """
        [{"name": "default", "template": "D{{ tools is none }}"}, {"name": "tool_use", "template": "T{{ tools|length }}"}]
        """;

    [Fact]
    public void Template_list_selects_tool_use_when_tools_are_given_and_default_otherwise()
    {
        var tok = WithTemplates(NamedTemplates);
        ChatMessage[] messages = [new("user", "hi")];

        Assert.Equal("DTrue", tok.ApplyChatTemplate(messages, addGenerationPrompt: false));
        Assert.Equal("T1", tok.ApplyChatTemplate(messages, [Weather], addGenerationPrompt: false));
        Assert.Equal("T0", tok.ApplyChatTemplate(messages, [], addGenerationPrompt: false));
        Assert.Equal(["default", "tool_use"], tok.ChatTemplates.Keys.Order());
    }

    [Fact]
    public void Template_list_without_default_fails_only_for_conversations_without_tools()
    {
        var tok = WithTemplates("""[{"name": "tool_use", "template": "T"}]""");
        Assert.Null(tok.ChatTemplate);
        Assert.Equal("T", tok.ApplyChatTemplate([new ChatMessage("user", "hi")], [Weather], addGenerationPrompt: false));
        var e = Assert.Throws<TokenizerException>(() => tok.ApplyChatTemplate([new ChatMessage("user", "hi")], addGenerationPrompt: false));
        Assert.Contains("none named 'default'", e.Message);
        Assert.Contains("tool_use", e.Message);
    }

    [Fact]
    public void Malformed_template_list_entry_names_its_index()
    {
        var e = Assert.Throws<TokenizerException>(() => WithTemplates("""[{"name": "default"}]"""));
        Assert.Contains("chat_template[0].template", e.Message);
    }

    [Fact]
    public void Tool_calls_tool_results_and_kwargs_reach_the_template()
    {
        var template = ChatTemplate.Parse(
            "{% for m in messages %}{{ m.role }}:{{ m.content }}"
            + "{% if m.tool_calls is defined %}{% for c in m.tool_calls %}[{{ c.id }} {{ c.type }} {{ c.function.name }} {{ c.function.arguments|tojson }} days={{ c.function.arguments.days + 1 }}]{% endfor %}{% endif %}"
            + "{% if m.tool_call_id is defined %}<{{ m.tool_call_id }} {{ m.name }}>{% endif %}"
            + "{% if m.reasoning_content is defined %}({{ m.reasoning_content }}){% endif %};{% endfor %}"
            + "tools={{ tools|map(attribute='function')|map(attribute='name')|join(',') }} think={{ enable_thinking }} date={{ date_string }}");
        ChatMessage[] messages =
        [
            new("user", "weather?"),
            new("assistant", null)
            {
                ToolCalls = [ToolCall.FromJsonArguments("get_weather", """{"days": 1, "big": 12345678901234567890}""", "call_1")],
                Extra = new Dictionary<string, object?> { ["reasoning_content"] = "need a call" },
            },
            new("tool", "21 C") { ToolCallId = "call_1", Name = "get_weather" },
        ];

        string text = template.Render(messages, [Weather], addGenerationPrompt: false,
            new Dictionary<string, object?> { ["enable_thinking"] = false, ["date_string"] = "01 Jan 2026" });

        Assert.Equal(
            "user:weather?;"
            + "assistant:None[call_1 function get_weather {\"days\": 1, \"big\": 12345678901234567890} days=2](need a call);"
            + "tool:21 C<call_1 get_weather>;"
            + "tools=get_weather think=False date=01 Jan 2026", text);
    }

    [Fact]
    public void Tool_call_arguments_that_are_not_a_json_object_stay_a_string()
    {
        var call = ToolCall.FromJsonArguments("f", "not json");
        Assert.Equal(JsonValueKind.String, call.Arguments.ValueKind);
        Assert.Equal("not json", call.Arguments.GetString());
    }

    [Fact]
    public void OpenAi_conversation_file_reads_messages_tools_parts_and_tool_calls()
    {
        var conversation = ChatConversation.Parse("""
            {"messages": [
              {"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
              {"role": "assistant", "content": null, "reasoning_content": "r",
               "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
              {"role": "tool", "tool_call_id": "c1", "name": "f", "content": "ok"}],
             "tools": [{"type": "function", "function": {"name": "f"}}]}
            """, "chat.json");

        Assert.Equal("a\nb", conversation.Messages[0].Content);
        var assistant = conversation.Messages[1];
        Assert.Null(assistant.Content);
        Assert.Equal("f", assistant.ToolCalls![0].Name);
        Assert.Equal(1, assistant.ToolCalls[0].Arguments.GetProperty("x").GetInt32());
        Assert.Equal("c1", assistant.ToolCalls[0].Id);
        Assert.Equal("r", ((JsonElement)assistant.Extra!["reasoning_content"]!).GetString());
        Assert.Equal(("c1", "f"), (conversation.Messages[2].ToolCallId, conversation.Messages[2].Name));
        Assert.Single(conversation.Tools!);
        Assert.Null(ChatConversation.Parse("""[{"role": "user", "content": "hi"}]""", "x").Tools);
    }

    [Theory]
    [InlineData("""{"messages": [{"content": "hi"}]}""", "chat.json messages[0].role")]
    [InlineData("""{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}""", "chat.json messages[0].content[0]")]
    [InlineData("""{"messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]}""", "messages[0].tool_calls[0].function.name")]
    [InlineData("""{"messages": {}, "tools": []}""", "chat.json messages: expected an array")]
    [InlineData("""{"msgs": []}""", "chat.json: expected")]
    [InlineData("""{"messages": [""", "chat.json: not valid JSON")]
    public void Malformed_conversation_files_name_the_field_at_fault(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ChatConversation.Parse(json, "chat.json"));
        Assert.Contains(expected, e.Message);
    }
}
