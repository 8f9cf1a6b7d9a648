using System.CommandLine;
using LongContext.Core.Inference;
using LongContext.Formats.Tokenization;

namespace LongContext.Cli.Commands;

/// <summary>`longctx chat`: an interactive conversation through the model's chat template (empty line or /exit quits).</summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var model = EngineOptions.Model();
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();
        var kvCache = EngineOptions.KvCache();
        var system = new Option<string?>("--system") { Description = "System prompt" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 512 };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 0.7 };
        var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 0.9 };
        var seed = new Option<long?>("--seed");
        var cmd = new Command("chat", "Chat with a local model in the terminal, using its chat template.");
        foreach (var o in new Option[] { model, device, dtype, kvCache, system, maxNew, temperature, topP, seed }) cmd.Options.Add(o);
        cmd.SetHandler((parse, ct) =>
        {
            using var session = EngineOptions.Open(parse.GetValue(model)!, parse.GetValue(device)!, parse.GetValue(dtype));
            if (session.Tokenizer.ChatTemplate is null)
                throw new TokenizerException($"{session.ModelDir} has no chat template (tokenizer_config.json chat_template or chat_template.jinja); use `longctx generate` for base models.");
            var messages = new List<ChatMessage>();
            if (parse.GetValue(system) is string s) messages.Add(new ChatMessage("system", s));
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Sampling = new SamplingOptions { Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), Seed = parse.GetValue(seed) },
                StopTokenIds = session.StopTokenIds,
                KvCache = EngineOptions.ParseKvCache(parse.GetValue(kvCache)!),
            };
            while (!ct.IsCancellationRequested)
            {
                Console.Write("> ");
                var line = Console.ReadLine();
                if (string.IsNullOrWhiteSpace(line) || line.Trim() == "/exit") break;
                messages.Add(new ChatMessage("user", line));
                var ids = session.Tokenizer.EncodeChat(messages, addGenerationPrompt: true);
                var decoder = session.Tokenizer.CreateStreamDecoder();
                var reply = new List<int>();
                foreach (var id in session.Generator.Generate(ids, options, ct))
                {
                    reply.Add(id);
                    if (decoder.Push(id) is string piece) Console.Write(piece);
                }
                Console.WriteLine();
                messages.Add(new ChatMessage("assistant", session.Tokenizer.Decode(reply, skipSpecialTokens: true)));
            }
            return 0;
        });
        return cmd;
    }
}
