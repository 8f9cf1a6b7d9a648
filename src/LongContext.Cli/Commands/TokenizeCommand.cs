using System.CommandLine;
using System.Text.Json;
using LongContext.Formats;
using LongContext.Formats.Tokenization;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>
/// `longctx tokenize --model DIR (--text T | --text-file F | --chat FILE | --jsonl FILE)`: the ids, token strings and
/// character offsets of a text, of a conversation rendered with the model's chat template, or of every line of a JSONL file.
/// </summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder with tokenizer.json (and tokenizer_config.json)", Required = true };
        var text = new Option<string?>("--text") { Description = "Text to tokenize" };
        var textFile = new Option<string?>("--text-file") { Description = "UTF-8 file whose whole content is tokenized, byte-exact (a leading BOM is kept as U+FEFF, as HF does)" };
        var chat = new Option<string?>("--chat")
        {
            Description = "JSON file with an OpenAI-style conversation ({\"messages\": [...], \"tools\": [...]} or a bare messages array): "
                + "rendered with the model's chat template (its tool_use template when tools are given), then encoded",
        };
        var jsonl = new Option<string?>("--jsonl")
        {
            Description = "Batch mode: each line is a JSON string, {\"text\": ...} or {\"messages\": [...], \"tools\": [...]}; prints one JSON line per input",
        };
        var noSpecial = new Option<bool>("--no-special") { Description = "Do not add the post-processor's special tokens (Llama-3's BOS); chat prompts never get them (the template writes them)" };
        var generationPrompt = new Option<bool>("--add-generation-prompt") { Description = "Chat: end with the assistant header the model answers after (add_generation_prompt)" };
        var kwargs = new Option<string[]>("--template-kwarg")
        {
            Description = "Chat: a template variable KEY=VALUE (repeatable), e.g. enable_thinking=false, date_string=\"26 Jul 2024\"; VALUE is read as JSON when it parses, else as a string",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("tokenize", "Encode text or a chat conversation with a model's HF tokenizer and print ids, tokens and offsets");
        foreach (var o in new Option[] { model, text, textFile, chat, jsonl, noSpecial, generationPrompt, kwargs }) command.Options.Add(o);
        command.SetHandler((parse, ct) =>
        {
            var sources = new[] { parse.GetValue(text) is not null, parse.GetValue(textFile) is not null, parse.GetValue(chat) is not null, parse.GetValue(jsonl) is not null };
            if (sources.Count(x => x) != 1) throw new ConfigException("tokenize: give exactly one of --text, --text-file, --chat or --jsonl");
            var tokenizer = HfTokenizer.Load(parse.GetValue(model)!);
            var request = new Request(tokenizer, !parse.GetValue(noSpecial), parse.GetValue(generationPrompt), ParseKwargs(parse.GetValue(kwargs) ?? []));
            if (parse.GetValue(jsonl) is string batch)
            {
                int n = 0;
                foreach (var (line, number) in File.ReadLines(batch).Select((l, i) => (l, i + 1)))
                {
                    ct.ThrowIfCancellationRequested();
                    if (line.Length == 0) continue;
                    CliCommon.WriteJson(request.Encode(ReadLine(line, $"{batch} line {number}"), number));
                    n++;
                }
                System.Console.Error.WriteLine($"{n} inputs tokenized");
                return 0;
            }
            var input = parse.GetValue(chat) is string chatFile
                ? new Input(null, ChatConversation.Parse(Utf8Text.ReadFile(chatFile, $"--chat {chatFile}"), chatFile))
                : new Input(parse.GetValue(text) ?? Utf8Text.ReadFile(parse.GetValue(textFile)!, $"--text-file {parse.GetValue(textFile)}"), null);
            var result = request.Encode(input, null);
            if (parse.GetValue(CliCommon.Json))
            {
                CliCommon.WriteJson(result);
                return 0;
            }
            if (input.Chat is not null) CliCommon.Console.WriteLine(result.Text!);
            var table = new Table().AddColumn("#").AddColumn("id").AddColumn("token").AddColumn("text").AddColumn("offsets");
            for (int i = 0; i < result.Ids.Count; i++)
            {
                table.AddRow(i.ToString(), result.Ids[i].ToString(), Markup.Escape(result.Tokens[i]),
                    Markup.Escape(Visible(tokenizer.Decode([result.Ids[i]], skipSpecialTokens: false, cleanUpTokenizationSpaces: false))),
                    result.Offsets is { } o ? $"{o[i][0]}..{o[i][1]}" : "");
            }
            CliCommon.Console.Write(table);
            CliCommon.Console.MarkupLine($"{result.Count} tokens");
            return 0;
        });
        return command;
    }

    /// <summary>One input: plain text, or a conversation to render with the chat template.</summary>
    private sealed record Input(string? Text, ChatConversation? Chat);

    /// <summary>What --json prints (and each --jsonl line): offsets are code-point [start, end) in Text, absent when the tokenizer cannot give them exactly.</summary>
    internal sealed record Result(int? Line, string? Text, IReadOnlyList<int> Ids, IReadOnlyList<string> Tokens, IReadOnlyList<int[]>? Offsets, int Count);

    private sealed record Request(HfTokenizer Tokenizer, bool AddSpecialTokens, bool AddGenerationPrompt, IReadOnlyDictionary<string, object?> Kwargs)
    {
        public Result Encode(Input input, int? line)
        {
            bool special = AddSpecialTokens && input.Chat is null;
            string text = input.Chat is { } c ? Tokenizer.ApplyChatTemplate(c.Messages, c.Tools, AddGenerationPrompt, Kwargs) : input.Text!;
            var ids = Tokenizer.Encode(text, special);
            var offsets = TokenOffsets.Compute(Tokenizer, text, ids, special)?.Select(o => new[] { o.Start, o.End }).ToArray();
            return new Result(line, input.Chat is null && line is null ? null : text, ids, ids.Select(Tokenizer.IdToToken).ToArray(), offsets, ids.Count);
        }
    }

    private static Input ReadLine(string line, string where)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{where}: not valid JSON ({e.Message})");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.String) return new Input(root.GetString()!, null);
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                return new Input(t.GetString()!, null);
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("messages", out _))
                return new Input(null, ChatConversation.FromJson(root, where));
            throw new ConfigException($"{where}: expected a JSON string, {{\"text\": ...}} or {{\"messages\": [...]}}");
        }
    }

    /// <summary>KEY=VALUE pairs; VALUE as JSON when it parses (true, 3, "x", [1]), else the raw string.</summary>
    internal static Dictionary<string, object?> ParseKwargs(IEnumerable<string> pairs)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new ConfigException($"--template-kwarg {pair}: expected KEY=VALUE (e.g. enable_thinking=false)");
            string value = pair[(eq + 1)..];
            object? parsed;
            try
            {
                using var doc = JsonDocument.Parse(value);
                parsed = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                parsed = value;
            }
            result[pair[..eq]] = parsed;
        }
        return result;
    }

    private static string Visible(string s) => s.Replace("\n", "\\n").Replace("\t", "\\t").Replace("\r", "\\r");
}
