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
    public static TokenCacheResult OpenCorpus(string dataPath, string tokenizerDir, int modelVocabSize, string cacheDir,
        IProgress<TokenizeProgress>? progress = null, CancellationToken ct = default)
    {
        var tokenizer = HfTokenizer.Load(tokenizerDir);
        if (tokenizer.VocabSize > modelVocabSize)
            throw new ConfigException($"the tokenizer in {tokenizerDir} has {tokenizer.VocabSize} ids but the model's vocab_size is {modelVocabSize}; "
                + "use a config whose vocab_size covers the tokenizer, or a smaller tokenizer.");
        var source = DocumentSources.Open(dataPath);
        return TokenCacheBuilder.GetOrBuild(cacheDir, source, tokenizer, TokenizerIdentity.FromModelDirectory(tokenizerDir), new TokenizeOptions(), progress, ct);
    }

    /// <summary>Shuffled packing without position resets (documents run into each other, separated by EOS).</summary>
    public static PackedDataSource Pack(ITokenCorpus corpus, int sequenceLength, int batchSize, long seed) =>
        new(corpus, new PackingOptions { SequenceLength = sequenceLength, BatchSize = batchSize, Seed = seed });
}
