using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>
/// What the in-process backend needs from the engine (implemented by the lead over LongContext.Core's generator).
/// Generate runs greedy decoding from <paramref name="promptIds"/> and returns only the new ids (without the prompt),
/// stopping at <paramref name="maxNewTokens"/> or after emitting any id in <paramref name="stopIds"/> (the stop id may be
/// included in the result; the backend removes it). It is called from one thread at a time.
/// </summary>
public interface ILocalGenerator
{
    ITextTokenizer Tokenizer { get; }
    /// <summary>The model's chat template (from tokenizer_config.json), or <see cref="ChatTemplates.Base"/> for base models.</summary>
    IChatTemplate ChatTemplate { get; }
    /// <summary>Longest sequence (prompt + new tokens) the model may run, or null when unbounded.</summary>
    int? MaxSequenceLength { get; }
    /// <summary>Names the model for manifests (e.g. the folder and its config hash).</summary>
    string ModelId { get; }
    IReadOnlyList<int> Generate(IReadOnlyList<int> promptIds, int maxNewTokens, IReadOnlyCollection<int> stopIds, CancellationToken ct);
}
