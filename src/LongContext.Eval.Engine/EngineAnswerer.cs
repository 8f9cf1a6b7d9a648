using LongContext.Core.Inference;
using LongContext.Eval.Context;

namespace LongContext.Eval.Engine;

/// <summary>Answers with the in-process engine: the prompt is encoded exactly as <paramref name="counter"/> measured it, tokens stream through the tokenizer's stream decoder.</summary>
public sealed class EngineAnswerer(EngineSession session, PromptTokenCounter counter, int prefillChunk = 4096) : IAnswerer
{
    public string Describe => $"local:{Path.GetFileName(Path.TrimEndingDirectorySeparator(session.ModelDir))}";

    public async Task<AnswerResult> AnswerAsync(string userMessage, AnswerOptions options, Action<string> onText, CancellationToken ct)
    {
        var ids = counter.EncodePrompt(userMessage);
        var generation = new GenerationOptions
        {
            MaxNewTokens = options.MaxNewTokens,
            Sampling = options.Temperature > 0 ? new SamplingOptions { Temperature = options.Temperature, Seed = options.Seed } : SamplingOptions.Greedy,
            StopTokenIds = session.StopTokenIds,
            PrefillChunk = prefillChunk,
        };
        var produced = new List<int>();
        await Task.Run(() =>
        {
            var decoder = session.Tokenizer.CreateStreamDecoder();
            foreach (var id in session.Generator.Generate(ids, generation, ct))
            {
                produced.Add(id);
                if (decoder.Push(id) is { } piece) onText(piece);
            }
        }, ct).ConfigureAwait(false);
        var text = session.Tokenizer.Decode(produced, skipSpecialTokens: true);
        return new AnswerResult(text, Streamed: true, ids.Count, produced.Count, produced.Count < options.MaxNewTokens ? "stop" : "length");
    }
}
