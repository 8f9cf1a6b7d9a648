using System.CommandLine;
using LongContext.Formats;
using System.Diagnostics;
using LongContext.Core.Inference;

namespace LongContext.Cli.Commands;

/// <summary>`longctx generate`: continue a prompt (raw text, or a user message through the chat template).</summary>
public static class GenerateCommand
{
    public sealed record Result(string Text, IReadOnlyList<int> NewTokenIds, int PromptTokens, double PrefillSeconds, double TokensPerSecond);

    public static Command Create()
    {
        var model = EngineOptions.Model();
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();
        var kvCache = EngineOptions.KvCache();
        var prompt = new Option<string?>("--prompt") { Description = "Prompt text" };
        var promptFile = new Option<string?>("--prompt-file") { Description = "Read the prompt from a UTF-8 file, byte-exact (a leading BOM stays U+FEFF, as HF keeps it)" };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as a user message with the model's chat template" };
        var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 128 };
        var greedy = new Option<bool>("--greedy") { Description = "Argmax decoding (same as --temperature 0)" };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 0.7 };
        var topK = new Option<int>("--top-k") { DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long?>("--seed");
        var stop = new Option<string[]>("--stop") { Description = "Stop string (repeatable)", AllowMultipleArgumentsPerToken = false };
        var chunk = new Option<int>("--prefill-chunk") { DefaultValueFactory = _ => 4096 };
        var cmd = new Command("generate", "Generate text with a local model (streams to stdout; --json prints new_token_ids).");
        foreach (var o in new Option[] { model, device, dtype, kvCache, prompt, promptFile, chat, maxNew, greedy, temperature, topK, topP, seed, stop, chunk }) cmd.Options.Add(o);
        cmd.SetHandler((parse, ct) =>
        {
            var text = parse.GetValue(prompt) ?? (parse.GetValue(promptFile) is string f ? Utf8Text.ReadFile(f, $"--prompt-file {f}") : null)
                ?? throw new ConfigException("give --prompt TEXT or --prompt-file FILE");
            using var session = EngineOptions.Open(parse.GetValue(model)!, parse.GetValue(device)!, parse.GetValue(dtype));
            var ids = parse.GetValue(chat)
                ? session.Tokenizer.EncodeChat([new Formats.Tokenization.ChatMessage("user", text)], addGenerationPrompt: true)
                : session.Tokenizer.Encode(text);
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Sampling = parse.GetValue(greedy) ? SamplingOptions.Greedy : new SamplingOptions
                { Temperature = parse.GetValue(temperature), TopK = parse.GetValue(topK), TopP = parse.GetValue(topP), Seed = parse.GetValue(seed) },
                StopTokenIds = session.StopTokenIds,
                KvCache = EngineOptions.ParseKvCache(parse.GetValue(kvCache)!),
                StopStrings = parse.GetValue(stop) ?? [],
                PrefillChunk = parse.GetValue(chunk),
            };
            bool json = parse.GetValue(CliCommon.Json);
            var decoder = session.Tokenizer.CreateStreamDecoder();
            var produced = new List<int>();
            var sw = Stopwatch.StartNew();
            double prefill = 0;
            foreach (var id in session.Generator.Generate(ids, options, ct))
            {
                if (produced.Count == 0) prefill = sw.Elapsed.TotalSeconds;
                produced.Add(id);
                if (!json && decoder.Push(id) is string piece) Console.Write(piece);
            }
            double decodeSeconds = sw.Elapsed.TotalSeconds - prefill;
            var result = new Result(session.Tokenizer.Decode(produced, skipSpecialTokens: true), produced, ids.Count, prefill,
                produced.Count > 1 ? (produced.Count - 1) / Math.Max(decodeSeconds, 1e-9) : 0);
            if (json) CliCommon.WriteJson(result);
            else Console.Error.WriteLine($"\n[{ids.Count} prompt tokens, prefill {prefill:F2} s, {result.TokensPerSecond:F1} tok/s]");
            return 0;
        });
        return cmd;
    }
}
