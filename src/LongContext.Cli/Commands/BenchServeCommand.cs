using System.CommandLine;
using LongContext.Core.Inference;
using LongContext.Formats.Config;
using LongContext.Formats;
using LongContext.Server.Scheduling;
using LongContext.Training.Plan;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>
/// `longctx bench serve`: time to first token and decode speed of the serving scheduler (the engine path behind
/// `longctx serve`) for a model shape with random weights: a cold long prompt, then the same prompt plus a short
/// follow-up, which the prefix cache answers without prefilling the shared part again.
/// </summary>
public static class BenchServeCommand
{
    public sealed record Measurement(int Context, string Request, int PromptTokens, int CachedPromptTokens, double TimeToFirstTokenSeconds,
        int CompletionTokens, double DecodeTokensPerSecond);

    public sealed record Report(string Preset, string Device, IReadOnlyList<Measurement> Requests);

    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model shape: " + string.Join(", ", ModelPresets.Names), DefaultValueFactory = _ => "llama-3-8b" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Folder with tokenizer.json (decodes the output; prompts are random ids)", Required = true };
        var contexts = new Option<string>("--contexts") { Description = "Prompt lengths, e.g. 32k,128k", DefaultValueFactory = _ => "32k,128k" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens generated per request", DefaultValueFactory = _ => 64 };
        var followUp = new Option<int>("--follow-up") { Description = "New tokens appended for the prefix-cache request", DefaultValueFactory = _ => 64 };
        var chunk = new Option<int>("--prefill-chunk") { DefaultValueFactory = _ => 16384 };
        var output = BenchCommand.OutOption();
        var device = EngineOptions.Device();
        var command = new Command("serve", "Time to first token and decode tokens/s through the serving scheduler (random weights): cold prompt, then a follow-up that reuses its KV cache. Each finished request is one JSON line (--json, --out).");
        foreach (var o in new Option[] { preset, tokenizer, contexts, maxTokens, followUp, chunk, output, device }) command.Options.Add(o);
        command.SetHandler(async (parse, ct) =>
        {
            var config = ModelPresets.Get(parse.GetValue(preset)!);
            var lengths = ContextLength.ParseList(parse.GetValue(contexts)!, "--contexts").Select(l => (int)l).ToList();
            int max = parse.GetValue(maxTokens), extra = parse.GetValue(followUp);
            using var session = EngineSession.CreateRandom(config, parse.GetValue(tokenizer)!, parse.GetValue(device)!);
            using var scheduler = new GenerationScheduler(session, new SchedulerOptions
            {
                PrefixCacheEntries = 1,
                MaxContext = lengths.Max() + extra + max + 16,
                PrefillChunk = parse.GetValue(chunk),
            });
            bool json = parse.GetValue(CliCommon.Json);
            using var output_ = new BenchOutput(json, parse.GetValue(output));
            bool warmingUp = true;
            var results = new List<Measurement>();
            var random = new Random(1234);
            // Random ids from the tokenizer's range keep the output decodable; the model ignores what they mean.
            int vocab = Math.Min(session.Tokenizer.VocabSize, config.VocabSize);
            async Task Send(int context, string kind, IReadOnlyList<int> prompt)
            {
                var handle = scheduler.Submit(new GenerationRequest { PromptIds = prompt, MaxTokens = max, Temperature = 0 }, ct);
                var output = await handle.ReadToEndAsync(ct);
                var s = output.Summary;
                var m = new Measurement(context, kind, s.PromptTokens, s.CachedPromptTokens, s.QueueSeconds + s.PrefillSeconds, s.CompletionTokens, s.TokensPerSecond);
                results.Add(m);
                if (!warmingUp) output_.Item("serve", m);
                BenchOutput.Progress($"{context} {kind}: TTFT {m.TimeToFirstTokenSeconds:F3} s, {m.CompletionTokens} tokens at {m.DecodeTokensPerSecond:F1} tok/s");
            }
            // Short cold and prefix-cached requests first: kernel selection (cuDNN builds a plan per new attention
            // shape), graph capture and allocator warm-up stay out of the measurements.
            var warm = Enumerable.Range(0, Math.Min(2048, lengths.Min())).Select(_ => random.Next(vocab)).ToArray();
            await Send(0, "warm-up", warm);
            await Send(0, "warm-up", warm.Concat(Enumerable.Range(0, extra).Select(_ => random.Next(vocab))).ToArray());
            results.Clear();
            warmingUp = false;
            foreach (var context in lengths)
            {
                var prompt = Enumerable.Range(0, context).Select(_ => random.Next(vocab)).ToArray();
                await Send(context, "cold", prompt);
                await Send(context, "prefix-cached", prompt.Concat(Enumerable.Range(0, extra).Select(_ => random.Next(vocab))).ToArray());
            }
            var report = new Report(parse.GetValue(preset)!, session.Model.Device.ToString(), results);
            output_.Summary(report);
            if (!json)
            {
                var t = new Table().AddColumns("Context", "Request", "Prompt", "Cached", "TTFT s", "Tokens", "Decode tok/s");
                foreach (var m in results)
                    t.AddRow($"{m.Context}", m.Request, $"{m.PromptTokens}", $"{m.CachedPromptTokens}", $"{m.TimeToFirstTokenSeconds:F3}", $"{m.CompletionTokens}", $"{m.DecodeTokensPerSecond:F1}");
                CliCommon.Console.Write(t);
            }
            return 0;
        });
        return command;
    }
}
