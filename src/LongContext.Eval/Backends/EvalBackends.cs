using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>
/// What the host gives the eval commands to build backends: the in-process generator and per-token loss scorer for
/// --model DIR, the tokenizer and chat template for --tokenizer DIR. An instance, handed to each command (no process-wide state), so tests run eval
/// commands side by side with their own factories. <see cref="EngineLocalGenerator.Backends"/> is the engine's.
/// </summary>
public sealed record EvalBackends(
    Func<string, ILocalGenerator> Local,
    Func<string, ITextTokenizer> Tokenizer,
    Func<string, IChatTemplate?> ChatTemplate,
    Func<string, Perplexity.ITokenLossScorer> LossScorer)
{
    /// <summary>No engine: --model and --tokenizer fail with a clear error.</summary>
    public static EvalBackends Unavailable { get; } = new(
        dir => throw new EvalException($"--model {dir}: the in-process engine is not available in this build; use --endpoint URL (e.g. `longctx serve` or vLLM) with --tokenizer DIR."),
        dir => throw new EvalException($"--tokenizer {dir}: no tokenizer loader is available in this build."),
        _ => null,
        dir => throw new EvalException($"--model {dir}: the in-process engine is not available in this build; perplexity needs it."));
}
