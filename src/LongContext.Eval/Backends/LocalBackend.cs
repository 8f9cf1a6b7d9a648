namespace LongContext.Eval.Backends;

/// <summary>
/// Runs requests on the in-process engine: the prompt is rendered with the model's chat template and the answer prefix
/// appended (assistant prefill, RULER's standard path), tokenized without extra special tokens (the template carries
/// them), generated greedily, decoded without special tokens and cut at the first stop string. A raw
/// <see cref="GenerationRequest.Prompt"/> is tokenized with the special tokens (BOS), as a /v1/completions server does.
/// </summary>
/// <remarks><paramref name="template"/> overrides the model's own template (--chat-template with --model).</remarks>
public sealed class LocalBackend(ILocalGenerator generator, IChatTemplate? template = null) : IGenerationBackend
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public IChatTemplate ChatTemplate { get; } = template ?? generator.ChatTemplate;
    public string Describe => $"local:{generator.ModelId} template={ChatTemplate.Name}";
    public PrefixPlacement PrefixPlacement => PrefixPlacement.AssistantTurn;

    /// <summary>The exact text the model sees for a request.</summary>
    public string RenderPrompt(GenerationRequest req) => PromptRenderer.Render(ChatTemplate, req);

    public async Task<GenerationResult> GenerateAsync(GenerationRequest req, CancellationToken ct)
    {
        req.Validate();
        var tok = generator.Tokenizer;
        var ids = tok.Encode(RenderPrompt(req), addSpecialTokens: req.Prompt is not null);
        var maxNew = req.MaxNewTokens;
        if (generator.MaxSequenceLength is int max && ids.Count + maxNew > max)
        {
            maxNew = max - ids.Count;
            if (maxNew <= 0)
                throw new EvalException($"Prompt of {ids.Count} tokens does not fit the model's {max}-token window; lower --lengths.");
        }
        var stopIds = new HashSet<int>();
        if (tok.EosTokenId is int eos) stopIds.Add(eos);
        foreach (var s in req.Stop) if (tok.TokenToId(s) is int id) stopIds.Add(id);

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        IReadOnlyList<int> output;
        try { output = await Task.Run(() => generator.Generate(ids, maxNew, stopIds, ct), ct).ConfigureAwait(false); }
        finally { _gate.Release(); }

        var kept = output.TakeWhile(id => !stopIds.Contains(id)).ToList();
        var finish = kept.Count < output.Count ? "stop" : "length";
        var text = tok.Decode(kept, skipSpecialTokens: true);
        foreach (var s in req.Stop)
        {
            var at = s.Length == 0 ? -1 : text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0) { text = text[..at]; finish = "stop"; }
        }
        return new GenerationResult(text, PrefixPlacement, ids.Count, kept.Count, finish);
    }
}
