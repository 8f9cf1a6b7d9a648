using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>
/// Factories the host fills in: the CLI builds backends through them so Eval does not depend on the engine.
/// Until set they throw a clear error.
/// </summary>
public static class EvalBackends
{
    /// <summary>Creates the in-process generator for a model folder (set by the engine once it exists).</summary>
    public static Func<string, ILocalGenerator> LocalFactory { get; set; } = dir =>
        throw new EvalException($"--model {dir}: the in-process engine is not available in this build; use --endpoint URL (e.g. `longctx serve` or vLLM) with --tokenizer DIR.");

    /// <summary>Loads the model's tokenizer from a folder holding tokenizer.json (set when HfTokenizer lands).</summary>
    public static Func<string, ITextTokenizer> TokenizerFactory { get; set; } = dir =>
        throw new EvalException($"--tokenizer {dir}: no tokenizer loader is available in this build (HfTokenizer is not wired in yet).");

    /// <summary>Opens the in-process per-token loss scorer for a model folder (perplexity by position).</summary>
    public static Func<string, Perplexity.ITokenLossScorer> LossScorerFactory { get; set; } = dir =>
        throw new EvalException($"--model {dir}: the in-process engine is not available in this build; perplexity needs it.");

    /// <summary>Loads the model's chat template from a folder (tokenizer_config.json); null when the folder has none.</summary>
    public static Func<string, IChatTemplate?> ChatTemplateFactory { get; set; } = _ => null;
}
