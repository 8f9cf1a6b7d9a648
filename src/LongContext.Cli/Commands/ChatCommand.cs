using System.CommandLine;
using System.Text.Json;
using LongContext.Core.Inference;
using LongContext.Formats.Tokenization;
using LongContext.Server.Tools;

namespace LongContext.Cli.Commands;

/// <summary>
/// `longctx chat`: an interactive conversation through the model's chat template (empty line or /exit quits). With
/// --tools FILE the template gets those function tools; a call in the answer (in a format the server parses) is shown
/// and you type each tool's result, which goes back to the model as a tool turn.
/// </summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var model = EngineOptions.Model();
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();
        var kvCache = EngineOptions.KvCache();
        var system = new Option<string?>("--system") { Description = "System prompt" };
        var toolsFile = new Option<string?>("--tools") { Description = "JSON file of OpenAI function tools ([{\"type\": \"function\", \"function\": {...}}] or {\"tools\": [...]}); you answer the calls" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 512 };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 0.7 };
        var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 0.9 };
        var seed = new Option<long?>("--seed");
        var cmd = new Command("chat", "Chat with a local model in the terminal, using its chat template (--tools FILE for function calling).");
        foreach (var o in new Option[] { model, device, dtype, kvCache, system, toolsFile, maxNew, temperature, topP, seed }) cmd.Options.Add(o);
        cmd.SetHandler((parse, ct) =>
        {
            var tools = parse.GetValue(toolsFile) is string file ? ReadTools(file) : null;
            using var session = EngineOptions.Open(parse.GetValue(model)!, parse.GetValue(device)!, parse.GetValue(dtype));
            if (session.Tokenizer.ChatTemplate is null)
                throw new TokenizerException($"{session.ModelDir} has no chat template (tokenizer_config.json chat_template or chat_template.jinja); use `longctx generate` for base models.");
            var format = tools is null ? null : ToolCallFormat.Detect(session.Tokenizer.ChatTemplate.Source);
            if (tools is not null && format is null)
                Console.Error.WriteLine("warning: this model's chat template uses no tool-call format longctx recognises (Hermes <tool_call>, Llama 3 JSON, Mistral [TOOL_CALLS]); calls will show as plain text");
            var messages = new List<ChatMessage>();
            if (parse.GetValue(system) is string s) messages.Add(new ChatMessage("system", s));
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Sampling = new SamplingOptions { Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), Seed = parse.GetValue(seed) },
                StopTokenIds = session.StopTokenIds,
                KvCache = EngineOptions.ParseKvCache(parse.GetValue(kvCache)!),
            };
            bool awaitingResults = false;
            while (!ct.IsCancellationRequested)
            {
                if (!awaitingResults)
                {
                    Console.Write("> ");
                    var line = Console.ReadLine();
                    if (string.IsNullOrWhiteSpace(line) || line.Trim() == "/exit") break;
                    messages.Add(new ChatMessage("user", line));
                }
                var ids = session.Tokenizer.EncodeChat(messages, tools?.Tools, addGenerationPrompt: true);
                var decoder = session.Tokenizer.CreateStreamDecoder();
                var stream = format is null ? null : new ToolCallStream(format);
                var reply = new List<int>();
                foreach (var id in session.Generator.Generate(ids, options, ct))
                {
                    reply.Add(id);
                    if (decoder.Push(id) is string piece) Console.Write(stream is null ? piece : stream.Push(piece));
                }
                var text = session.Tokenizer.Decode(reply, skipSpecialTokens: true);
                var calls = stream?.Finish() ?? new ToolCallParse(null, []);
                if (calls.Calls.Count == 0)
                {
                    Console.Write(calls.Content);
                    Console.WriteLine();
                    messages.Add(new ChatMessage("assistant", text));
                    awaitingResults = false;
                    continue;
                }
                if (calls.Content is { Length: > 0 } rest) Console.Write(rest);
                Console.WriteLine();
                messages.Add(new ChatMessage("assistant", calls.Content)
                {
                    ToolCalls = calls.Calls.Select(c => ToolCall.FromJsonArguments(c.Name, c.Arguments, c.Id)).ToList(),
                });
                awaitingResults = true;
                foreach (var call in calls.Calls)
                {
                    Console.WriteLine($"tool call: {call.Name}({call.Arguments})");
                    Console.Write($"result of {call.Name}> ");
                    var result = Console.ReadLine();
                    if (string.IsNullOrWhiteSpace(result) || result.Trim() == "/exit") return 0;
                    messages.Add(new ChatMessage("tool", result) { ToolCallId = call.Id, Name = call.Name });
                }
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>--tools FILE: an array of tools, or an object with a "tools" array (e.g. a saved request body).</summary>
    static ToolRequest? ReadTools(string file)
    {
        if (!File.Exists(file)) throw new ConfigException($"--tools {file}: no such file (give a JSON array of OpenAI function tools)");
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ConfigException($"--tools {file}: not valid JSON ({e.Message})");
        }
        var tools = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("tools", out var t) ? t : root;
        try
        {
            return ToolRequest.FromOpenAi(tools, null);
        }
        catch (Server.Scheduling.RequestRejectedException e)
        {
            throw new ConfigException($"--tools {file}: {e.Message}");
        }
    }
}
