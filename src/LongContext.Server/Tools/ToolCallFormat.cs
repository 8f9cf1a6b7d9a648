using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LongContext.Server.Tools;

/// <summary>One function call found in a model's output: OpenAI's `tool_calls[i]` (arguments as a JSON string).</summary>
public sealed record ParsedToolCall(string Id, string Name, string Arguments)
{
    /// <summary>An OpenAI-style call id: "call_" and 24 random alphanumerics.</summary>
    public static string NewId() => "call_" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 24);
}

/// <summary>A model's answer split into its text and the calls it made (none: the text is the whole answer).</summary>
public sealed record ToolCallParse(string? Content, IReadOnlyList<ParsedToolCall> Calls);

/// <summary>
/// How a model writes tool calls, recognised from its chat template, and the parser for it (as vLLM's tool parsers):
/// <list type="bullet">
/// <item><b>Hermes</b> (Qwen2.5/3, Hermes 2/3 and others): <c>&lt;tool_call&gt;{"name": …, "arguments": {…}}&lt;/tool_call&gt;</c>
/// blocks, any number, with text around them.</item>
/// <item><b>Llama 3 JSON</b> (Llama 3.1–3.3 templates): the whole answer is <c>{"name": …, "parameters": {…}}</c>
/// (optionally after <c>&lt;|python_tag|&gt;</c>; several separated by ';').</item>
/// <item><b>Mistral</b>: <c>[TOOL_CALLS]</c> then a JSON array of <c>{"name": …, "arguments": {…}}</c> (the marker is a
/// special token, so decoded text may start at the array).</item>
/// </list>
/// Output that does not parse as the format's calls stays content, unchanged.
/// </summary>
public abstract partial class ToolCallFormat
{
    public abstract string Name { get; }

    /// <summary>True when calls can only open the answer (the first non-blank text decides); false when they may follow text.</summary>
    internal abstract bool CallsOnlyAtStart { get; }
    /// <summary>Texts with which a call begins; streaming holds text back from there on (see <see cref="ToolCallStream"/>).</summary>
    internal abstract IReadOnlyList<string> StartMarkers { get; }

    public abstract ToolCallParse Parse(string output);

    public static readonly ToolCallFormat Hermes = new HermesFormat();
    public static readonly ToolCallFormat Llama3Json = new Llama3JsonFormat();
    public static readonly ToolCallFormat Mistral = new MistralFormat();

    /// <summary>The format a chat template asks its model to use, or null when none is recognisable.</summary>
    public static ToolCallFormat? Detect(string? templateSource) => templateSource switch
    {
        null => null,
        _ when templateSource.Contains("<tool_call>", StringComparison.Ordinal) => Hermes,
        _ when templateSource.Contains("[TOOL_CALLS]", StringComparison.Ordinal) => Mistral,
        _ when templateSource.Contains("\"parameters\"", StringComparison.Ordinal)
            && (templateSource.Contains("<|python_tag|>", StringComparison.Ordinal) || templateSource.Contains("ipython", StringComparison.Ordinal)) => Llama3Json,
        _ => null,
    };

    /// <summary>{"name": string, "arguments"|"parameters": object} → a call; anything else → null.</summary>
    static ParsedToolCall? Call(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString() is not { Length: > 0 } n)
            return null;
        bool has = e.TryGetProperty("arguments", out var args) || e.TryGetProperty("parameters", out args);
        string? arguments = !has || args.ValueKind == JsonValueKind.Null ? "{}"
            : args.ValueKind == JsonValueKind.String ? args.GetString()      // already OpenAI's string form
            : args.ValueKind == JsonValueKind.Object ? args.GetRawText() : null;
        if (arguments is null) return null;
        string id = e.TryGetProperty("id", out var given) && given.ValueKind == JsonValueKind.String && given.GetString() is { Length: > 0 } g ? g : ParsedToolCall.NewId();
        return new ParsedToolCall(id, n, arguments);
    }

    static JsonElement? Json(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static string? ContentOrNull(string text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    /// <summary>Every part as a call; null when any part is not one (then the output stays content).</summary>
    static List<ParsedToolCall>? Calls(IEnumerable<JsonElement?> parts)
    {
        var calls = new List<ParsedToolCall>();
        foreach (var part in parts)
        {
            if (part is not JsonElement e || Call(e) is not ParsedToolCall call) return null;
            calls.Add(call);
        }
        return calls;
    }

    /// <summary>The trimmed output after an optional leading marker.</summary>
    static string AfterMarker(string output, string marker)
    {
        var text = output.Trim();
        return text.StartsWith(marker, StringComparison.Ordinal) ? text[marker.Length..].TrimStart() : text;
    }

    sealed partial class HermesFormat : ToolCallFormat
    {
        public override string Name => "hermes";
        internal override bool CallsOnlyAtStart => false;
        internal override IReadOnlyList<string> StartMarkers => ["<tool_call>"];

        [GeneratedRegex(@"<tool_call>(.*?)(?:</tool_call>|\z)", RegexOptions.Singleline)]
        private static partial Regex Block();

        public override ToolCallParse Parse(string output) =>
            Calls(Block().Matches(output).Select(m => Json(m.Groups[1].Value.Trim()))) is { Count: > 0 } calls
                ? new ToolCallParse(ContentOrNull(Block().Replace(output, "")), calls)
                : new ToolCallParse(output, []);
    }

    sealed class Llama3JsonFormat : ToolCallFormat
    {
        public override string Name => "llama3_json";
        internal override bool CallsOnlyAtStart => true;
        internal override IReadOnlyList<string> StartMarkers => ["{", "<|python_tag|>"];

        public override ToolCallParse Parse(string output)
        {
            var text = AfterMarker(output, "<|python_tag|>");
            if (!text.StartsWith('{')) return new ToolCallParse(output, []);
            // One object, or several joined by ';' (how Llama 3 writes parallel calls).
            var parts = Json(text) is JsonElement whole ? [whole] : text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Json);
            return Calls(parts) is { Count: > 0 } calls ? new ToolCallParse(null, calls) : new ToolCallParse(output, []);
        }
    }

    sealed class MistralFormat : ToolCallFormat
    {
        public override string Name => "mistral";
        internal override bool CallsOnlyAtStart => true;
        internal override IReadOnlyList<string> StartMarkers => ["[", "[TOOL_CALLS]"];

        public override ToolCallParse Parse(string output)
        {
            var text = AfterMarker(output, "[TOOL_CALLS]");
            return text.StartsWith('[') && Json(text) is { ValueKind: JsonValueKind.Array } array
                && Calls(array.EnumerateArray().Select(e => (JsonElement?)e)) is { Count: > 0 } calls
                ? new ToolCallParse(null, calls) : new ToolCallParse(output, []);
        }
    }
}
