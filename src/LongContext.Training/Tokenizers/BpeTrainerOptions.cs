using LongContext;

namespace LongContext.Training.Tokenizers;

/// <summary>
/// Settings of <see cref="BpeTrainer"/>: a byte-level BPE tokenizer in Llama-3's layout (its pre-tokenizer regex,
/// byte-level alphabet, no normalizer), so any text encodes without unknown tokens.
/// </summary>
public sealed record BpeTrainerOptions
{
    /// <summary>Llama-3's pre-tokenizer split (tokenizer.json Split, behavior Isolated): letters, 1–3 digit groups,
    /// punctuation runs, newlines with their indentation.</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Total ids: the 256 byte tokens, the learned merges and <see cref="SpecialTokens"/>.</summary>
    public int VocabSize { get; init; } = 8192;
    /// <summary>A pair seen fewer times than this in the training words is never merged (training may stop short of VocabSize).</summary>
    public int MinFrequency { get; init; } = 2;
    /// <summary>Added special tokens, given the ids after the BPE vocabulary; the first is BOS, the second EOS.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = ["<|begin_of_text|>", "<|end_of_text|>"];
    public string PreTokenizerPattern { get; init; } = Llama3Pattern;
    /// <summary>At most this many characters of the corpus are counted (documents spread over the whole source); null counts all.</summary>
    public long? MaxCharacters { get; init; } = 64L << 20;
    /// <summary>Threads for counting words (0 = all processors).</summary>
    public int Threads { get; init; }

    public const int ByteTokens = 256;

    public BpeTrainerOptions Validate()
    {
        if (SpecialTokens.Count < 2) throw new ConfigException("tokenizer training: give at least two special tokens (BOS and EOS).");
        if (SpecialTokens.Distinct(StringComparer.Ordinal).Count() != SpecialTokens.Count) throw new ConfigException("tokenizer training: special tokens must be distinct.");
        if (VocabSize < ByteTokens + SpecialTokens.Count) throw new ConfigException($"tokenizer training: --vocab {VocabSize} must be at least {ByteTokens + SpecialTokens.Count} (256 bytes + special tokens).");
        if (MinFrequency < 1) throw new ConfigException($"tokenizer training: min frequency {MinFrequency} must be at least 1.");
        if (MaxCharacters is <= 0) throw new ConfigException($"tokenizer training: max characters {MaxCharacters} must be positive.");
        return this;
    }
}
