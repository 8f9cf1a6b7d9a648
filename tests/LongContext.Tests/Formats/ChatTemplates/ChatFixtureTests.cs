using System.Text.Json;
using LongContext.Formats.ChatTemplates;

namespace LongContext.Tests.Formats.ChatTemplates;

/// <summary>
/// Renders every case of fixtures/chat/cases.json and compares with expected.json, which is produced by
/// render_expected.py with real jinja2 configured as transformers does (regenerated on the GPU box by the lead).
/// </summary>
public class ChatFixtureTests
{
    private static string ChatDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "chat");

    public static IEnumerable<object[]> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ChatDir, "cases.json")));
        foreach (var c in doc.RootElement.EnumerateArray()) yield return [c.GetProperty("name").GetString()!];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renders_like_transformers_jinja(string name)
    {
        string expectedPath = Path.Combine(ChatDir, "expected.json");
        Assert.True(File.Exists(expectedPath), "fixtures/chat/expected.json is missing: run render_expected.py");
        using var expected = JsonDocument.Parse(File.ReadAllText(expectedPath));
        if (!expected.RootElement.TryGetProperty(name, out var want))
            Assert.Fail($"expected.json has no entry '{name}': rerun render_expected.py");

        using var cases = JsonDocument.Parse(File.ReadAllText(Path.Combine(ChatDir, "cases.json")));
        var c = cases.RootElement.EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var template = ChatTemplate.Parse(c.TryGetProperty("template", out var inline)
            ? inline.GetString()!
            : File.ReadAllText(Path.Combine(ChatDir, c.GetProperty("template_file").GetString()!)));
        var extra = new Dictionary<string, object?>
        {
            ["bos_token"] = c.GetProperty("bos_token").GetString(),
            ["eos_token"] = c.GetProperty("eos_token").GetString(),
        };
        if (c.TryGetProperty("extra", out var more))
            foreach (var p in more.EnumerateObject()) extra[p.Name] = p.Value.Clone();
        var messages = c.GetProperty("messages").EnumerateArray().Select(m => (object?)m.Clone()).ToList();

        string actual = template.Render(messages, c.GetProperty("add_generation_prompt").GetBoolean(), extra);

        Assert.Equal(want.GetString(), actual);
    }
}
