using System.Text.Json;
using LongContext.Server.Tools;

namespace LongContext.Tests.Server;

/// <summary>Tool calls parsed out of model output in the formats templates ask for, whole and streamed.</summary>
public class ToolCallFormatTests
{
    static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "chat");

    static string Template(string name) => File.ReadAllText(Path.Combine(Fixtures, name));

    [Theory]
    [InlineData("qwen2.5.jinja", "hermes")]
    [InlineData("llama3.1.jinja", "llama3_json")]
    [InlineData("llama3.jinja", null)]
    [InlineData("qwen2.jinja", null)]
    public void The_format_is_recognised_from_the_template(string template, string? format) =>
        Assert.Equal(format, ToolCallFormat.Detect(Template(template))?.Name);

    [Fact]
    public void Mistral_templates_use_the_mistral_format() =>
        Assert.Equal("mistral", ToolCallFormat.Detect("{{ '[AVAILABLE_TOOLS]' }}{{ '[TOOL_CALLS]' + tool_calls | tojson }}")?.Name);

    static void AssertCall(ParsedToolCall call, string name, string key, string value)
    {
        Assert.Equal(name, call.Name);
        Assert.Equal(value, JsonDocument.Parse(call.Arguments).RootElement.GetProperty(key).GetString());
        Assert.False(string.IsNullOrEmpty(call.Id));
    }

    [Fact]
    public void Hermes_blocks_become_calls_and_the_text_around_them_content()
    {
        var parse = ToolCallFormat.Hermes.Parse("Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}\n</tool_call>");
        Assert.Equal("Let me look.", parse.Content);
        Assert.Equal(2, parse.Calls.Count);
        AssertCall(parse.Calls[0], "get_weather", "city", "Paris");
        AssertCall(parse.Calls[1], "get_time", "zone", "CET");
        Assert.NotEqual(parse.Calls[0].Id, parse.Calls[1].Id);
    }

    [Fact]
    public void Llama3_json_answers_with_parameters_become_calls_even_several_joined_by_semicolons()
    {
        var one = ToolCallFormat.Llama3Json.Parse(" {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}");
        AssertCall(Assert.Single(one.Calls), "get_weather", "city", "Paris");
        Assert.Null(one.Content);
        var two = ToolCallFormat.Llama3Json.Parse("<|python_tag|>{\"name\": \"a\", \"parameters\": {\"x\": \"1\"}}; {\"name\": \"b\", \"parameters\": {\"y\": \"2\"}}");
        Assert.Equal(["a", "b"], two.Calls.Select(c => c.Name));
    }

    [Fact]
    public void Mistral_arrays_become_calls_with_or_without_the_marker()
    {
        foreach (var text in new[] { "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123def\"}]", "[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]" })
            AssertCall(Assert.Single(ToolCallFormat.Mistral.Parse(text).Calls), "get_weather", "city", "Paris");
        Assert.Equal("abc123def", ToolCallFormat.Mistral.Parse("[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}, \"id\": \"abc123def\"}]").Calls[0].Id);
    }

    [Theory]
    [InlineData("hermes", "Plain answer, no calls.")]
    [InlineData("hermes", "<tool_call>\n{\"name\": \"f\", \"arguments\": {broken\n</tool_call>")]
    [InlineData("llama3_json", "{ this is not json }")]
    [InlineData("llama3_json", "{\"answer\": 42}")]
    [InlineData("llama3_json", "The capital is Paris.")]
    [InlineData("mistral", "[see the docs](http://x)")]
    public void Output_that_is_not_a_valid_call_stays_content_unchanged(string format, string text)
    {
        var parse = Format(format).Parse(text);
        Assert.Empty(parse.Calls);
        Assert.Equal(text, parse.Content);
    }

    static ToolCallFormat Format(string name) => name switch { "hermes" => ToolCallFormat.Hermes, "llama3_json" => ToolCallFormat.Llama3Json, _ => ToolCallFormat.Mistral };

    /// <summary>Feeds the text in small pieces; returns what streamed as content, plus the end's parse.</summary>
    static (string Streamed, ToolCallParse End) Stream(ToolCallFormat format, string text, int piece = 3)
    {
        var stream = new ToolCallStream(format);
        var streamed = new System.Text.StringBuilder();
        for (int i = 0; i < text.Length; i += piece) streamed.Append(stream.Push(text.Substring(i, Math.Min(piece, text.Length - i))));
        return (streamed.ToString(), stream.Finish());
    }

    [Theory]
    [InlineData("hermes", "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "Let me look.\n")]
    [InlineData("llama3_json", "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "")]
    [InlineData("mistral", "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "")]
    public void Streaming_never_releases_call_markup_and_ends_with_the_same_calls(string format, string text, string content)
    {
        foreach (int piece in new[] { 1, 2, 5, 1000 })
        {
            var (streamed, end) = Stream(Format(format), text, piece);
            Assert.Equal(content, streamed);
            Assert.Null(end.Content is { Length: > 0 } c && c.Trim().Length > 0 ? c : null);
            AssertCall(Assert.Single(end.Calls), "get_weather", "city", "Paris");
        }
    }

    [Theory]
    [InlineData("hermes", "An answer with a < sign and <tool_ and more.")]
    [InlineData("llama3_json", "  Paris is sunny.")]
    [InlineData("mistral", "[not a call] but text")]
    public void Streaming_text_without_calls_arrives_whole_in_order(string format, string text)
    {
        foreach (int piece in new[] { 1, 4, 1000 })
        {
            var (streamed, end) = Stream(Format(format), text, piece);
            Assert.Empty(end.Calls);
            Assert.Equal(text, streamed + end.Content);
        }
    }
}
