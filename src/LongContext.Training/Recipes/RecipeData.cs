using LongContext.Formats.Tokenization;
using LongContext.Training.Data;

namespace LongContext.Training.Recipes;

/// <summary>Data steps the recipes share: tokenize a data path once into a cache, pack it at a sequence length.</summary>
public static class RecipeData
{
    /// <summary>Folder under a recipe's out dir where the token cache lives (reused across stages and reruns).</summary>
    public const string CacheFolder = "token-cache";

    /// <summary>Tokenizes <paramref name="dataPath"/> (folder of text files or .jsonl) with the tokenizer of <paramref name="tokenizerDir"/>, or reuses the cache.</summary>
    /// <param name="modelVocabSize">The model's vocab_size: a tokenizer with more ids than the embedding has rows is refused.</param>
    /// <param name="maxFileBytes">Size limit of the files read from a folder (null: the reader's default).</param>
    public static TokenCacheResult OpenCorpus(string dataPath, string tokenizerDir, int modelVocabSize, string cacheDir,
        IProgress<TokenizeProgress>? progress = null, CancellationToken ct = default, long? maxFileBytes = null)
    {
        var tokenizer = HfTokenizer.Load(tokenizerDir);
        if (tokenizer.VocabSize > modelVocabSize)
            throw new ConfigException($"the tokenizer in {tokenizerDir} has {tokenizer.VocabSize} ids but the model's vocab_size is {modelVocabSize}; "
                + "use a config whose vocab_size covers the tokenizer, or a smaller tokenizer.");
        var source = DocumentSources.Open(dataPath, maxFileBytes: maxFileBytes);
        return TokenCacheBuilder.GetOrBuild(cacheDir, source, tokenizer, TokenizerIdentity.FromModelDirectory(tokenizerDir), new TokenizeOptions(), progress, ct);
    }

    /// <summary>
    /// Shuffled packing. Without <paramref name="documentMask"/> documents run into each other (separated by EOS) with
    /// positions 0 … L−1; with it, positions restart at each document and no document's first token is predicted from
    /// the previous one, to go with the trainer's document mask (each document trained as if alone).
    /// </summary>
    public static PackedDataSource Pack(ITokenCorpus corpus, int sequenceLength, int batchSize, long seed, bool documentMask = false) =>
        new(corpus, new PackingOptions
        {
            SequenceLength = sequenceLength, BatchSize = batchSize, Seed = seed,
            ResetPositionIds = documentMask, MaskDocumentBoundaries = documentMask,
        });
}
