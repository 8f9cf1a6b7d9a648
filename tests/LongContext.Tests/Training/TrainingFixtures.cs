namespace LongContext.Tests.Training;

/// <summary>Folders the recipe and CLI training tests start from: a small text corpus and the tiny llama fixture as a user's model.</summary>
internal static class TrainingFixtures
{
    public static readonly string Hf = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf");
    public static readonly string TokenizerDir = Path.Combine(Hf, "tokenizer");

    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "longctx-tests", "training-commands", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A few text files of repeated paragraphs: a few thousand tokens with the fixture tokenizer.</summary>
    public static string Corpus()
    {
        var dir = TempDir("data");
        string[] paragraphs =
        [
            "The river ran past the old mill, and the miller counted sacks of grain before the winter came.",
            "In the market square the children traded marbles while their parents argued about the price of apples.",
            "A lighthouse keeper wrote letters every night, describing the ships that passed and the storms that did not.",
        ];
        for (int f = 0; f < 4; f++)
            File.WriteAllText(Path.Combine(dir, $"doc{f}.txt"), string.Join("\n\n", Enumerable.Repeat(paragraphs[f % 3] + " " + paragraphs[(f + 1) % 3], 12)));
        return dir;
    }

    /// <summary>The tiny llama fixture (vocab 600, max_position_embeddings 64, rope_theta 10000) with the fixture tokenizer, as a user's model folder.</summary>
    public static string ModelDir()
    {
        var dir = TempDir("model");
        foreach (var f in new[] { "config.json", "model.safetensors", "generation_config.json" })
            File.Copy(Path.Combine(Hf, "models", "llama_default", f), Path.Combine(dir, f));
        foreach (var f in Directory.GetFiles(TokenizerDir))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }
}
