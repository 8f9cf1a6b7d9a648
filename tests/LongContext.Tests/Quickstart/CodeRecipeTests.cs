using System.Text;
using System.Text.Json;
using LongContext.Formats.Tokenization;
using LongContext.Eval.Passkey;
using LongContext.Tests.Data;
using LongContext.Training.CodeRecipe;
using LongContext.Training.Data;
using LongContext.Training.Tokenizers;

namespace LongContext.Tests.Quickstart;

/// <summary>The 64× code recipe (`quickstart --device cuda`) at tiny scale on the CPU, and its parts.</summary>
[Collection(CliCollection.Name)]
public class CodeRecipeTests
{
    /// <summary>A site-packages-like folder: packages (folders) of Python files, one large enough to be held out.</summary>
    static TempDir Packages(int packages = 8)
    {
        var dir = new TempDir();
        var rng = new Random(3);
        string[] words = ["self", "value", "items", "result", "config", "tensor", "index", "length", "path", "name", "return", "import"];
        for (int p = 0; p < packages; p++)
            for (int f = 0; f < 3 + p; f++)
            {
                var sb = new StringBuilder();
                for (int line = 0; line < 30 + 20 * p; line++)
                    sb.Append($"def f{line}({words[rng.Next(words.Length)]}):\n    return {words[rng.Next(words.Length)]}.{words[rng.Next(words.Length)]}({rng.Next(1000)})\n");
                dir.File($"pkg{p}/mod{f}.py", sb.ToString());
            }
        dir.File("pkg0/README.md", "not python");
        return dir;
    }

    [Fact]
    public void Packages_are_whole_documents_in_path_order_and_held_out_ones_never_train()
    {
        using var dir = Packages();
        var corpus = CodeCorpus.Load(dir.Path, ["**/*.py"], maxCharacters: 1L << 30, heldOutPackages: 2, heldOutMinCharacters: 10_000);
        Assert.Equal(2, corpus.HeldOut.Count);
        Assert.Equal(8, corpus.Training.Count + corpus.HeldOut.Count);
        Assert.Empty(corpus.Training.Select(p => p.Name).Intersect(corpus.HeldOut.Select(p => p.Name)));
        Assert.All(corpus.HeldOut, p => Assert.True(p.Characters >= 10_000));
        var pkg = corpus.Training[0];
        var doc = pkg.AsDocument().Text;
        Assert.StartsWith($"# file: {pkg.Files[0].Id}\n", doc);
        Assert.True(doc.IndexOf(pkg.Files[1].Id, StringComparison.Ordinal) > doc.IndexOf(pkg.Files[0].Id, StringComparison.Ordinal));
        Assert.DoesNotContain(corpus.Training.SelectMany(p => p.Files), f => f.Id.EndsWith(".md", StringComparison.Ordinal));
    }

    [Fact]
    public void One_tokenization_gives_the_file_corpus_and_package_documents_that_decode_to_the_packages_text()
    {
        using var dir = Packages(4);
        var corpus = CodeCorpus.Load(dir.Path, ["**/*.py"], maxCharacters: 1L << 30, heldOutPackages: 0, heldOutMinCharacters: 10_000);
        var texts = corpus.Training.SelectMany(p => p.Files).Select(f => f.Text).ToList();
        var tokenizer = HfTokenizer.FromJson(BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 400, MaxCharacters = null }).TokenizerJson);
        int eos = 399;
        var (files, packages) = CodeCorpus.TokenizeFilesAndPackages(corpus.Training, tokenizer, eos);
        Assert.Equal(corpus.Training.Sum(p => p.Files.Count), files.DocumentCount);
        Assert.Equal(corpus.Training.Count, packages.DocumentCount);
        for (int d = 0; d < corpus.Training.Count; d++)
        {
            var ids = packages.ReadDocument(d).Select(t => (int)t).ToArray();
            Assert.Equal(eos, ids[^1]);
            Assert.Equal(corpus.Training[d].AsDocument().Text, tokenizer.Decode(ids[..^1]));
        }
    }

    [Fact]
    public void Passkey_rows_replace_about_the_given_fraction_with_episodes_in_the_eval_format_and_keep_labels_shifted()
    {
        var texts = Enumerable.Range(0, 30).Select(i => $"def f{i}(x):\n    return x + {i}\n").ToList();
        var tokenizer = HfTokenizer.FromJson(BpeTrainer.Train(texts.Append(PasskeyPrompt.Build(400, 50, "12345")), new BpeTrainerOptions { VocabSize = 400, MaxCharacters = null }).TokenizerJson);
        int eos = 399;
        var corpus = CodeCorpus.Tokenize(texts.Select((t, i) => new TextDocument($"d{i}", string.Concat(Enumerable.Repeat(t, 40)))).ToList(), tokenizer, eos);
        var rows = new PasskeyRows(LongContext.Training.Recipes.RecipeData.Pack(corpus, 256, 4, 1), tokenizer, eos, fraction: 0.5, seed: 7);
        int passkey = 0, total = 0;
        for (int step = 0; step < 20; step++)
        {
            var batch = rows.Next();
            for (int r = 0; r < batch.BatchSize; r++, total++)
            {
                var ids = batch.InputIds.Skip(r * 256).Take(256).Select(x => (int)x).ToArray();
                for (int i = 0; i < 255; i++) Assert.Equal(ids[i + 1], batch.Labels[r * 256 + i]);
                if (tokenizer.Decode(ids).Contains(PasskeyPrompt.TaskDescription[..40], StringComparison.Ordinal)) passkey++;
            }
        }
        Assert.InRange(passkey, total * 0.3, total * 0.7);
        // An episode is the eval prompt followed by its key: "What is the pass key? The pass key is 123."
        var episode = tokenizer.Decode(rows.Episodes(2000, new Random(1)));
        var m = System.Text.RegularExpressions.Regex.Match(episode, @"The pass key is (\d+)\. Remember it\.[\s\S]*?What is the pass key\? The pass key is (\d+)\.");
        Assert.True(m.Success, episode[..Math.Min(300, episode.Length)]);
        Assert.Equal(m.Groups[1].Value, m.Groups[2].Value);
    }

    [Fact]
    public void Time_budgets_read_seconds_or_minutes()
    {
        Assert.Equal(540, LongContext.Cli.Commands.CodeRecipeCommand.ParseSeconds("540s"));
        Assert.Equal(540, LongContext.Cli.Commands.CodeRecipeCommand.ParseSeconds("9m"));
        Assert.Throws<LongContext.ConfigException>(() => LongContext.Cli.Commands.CodeRecipeCommand.ParseSeconds("soon"));
    }

    [Fact]
    public async Task Tiny_code_recipe_runs_every_phase_and_writes_the_report_summary_and_events()
    {
        using var data = Packages();
        using var run = new TempDir();
        var (code, output, err) = await CliRun.Capture("quickstart", "--scale", "tiny", "--data", data.Path, "--out", run.Path, "--time-budget", "120s", "--json");
        Assert.True(code == 0, err);
        var summary = CliRun.LastJson(output);
        Assert.Equal(["pretrain", "stage-256", "stage-512"], summary.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(["base", "theta-only", "linear", "dynamic-ntk", "yarn", "stage-256", "stage-512"],
            summary.GetProperty("variants").EnumerateArray().Select(v => v.GetProperty("name").GetString()));
        Assert.All(summary.GetProperty("variants").EnumerateArray(), v => Assert.Equal(2, v.GetProperty("passkey_by_length").EnumerateObject().Count()));
        var report = File.ReadAllText(Path.Combine(run.Path, "report.md"));
        foreach (var section in new[] { "## Stages", "## Passkey retrieval", "## Perplexity by position", "## Discussion", "passkey_vs_length.png" })
            Assert.Contains(section, report);
        // Baselines are config overrides beside the base weights, not copies.
        var yarn = Path.Combine(run.Path, "models", "yarn");
        Assert.Contains("\"yarn\"", File.ReadAllText(Path.Combine(yarn, "config.json")));
        Assert.NotNull(new FileInfo(Path.Combine(yarn, "model.safetensors")).LinkTarget);
        var events = File.ReadAllLines(Path.Combine(run.Path, "events.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event").GetString()).ToList();
        Assert.Equal("corpus", events[0]);
        Assert.Equal("done", events[^1]);
        Assert.Equal(3, events.Count(e => e == "phase"));
        Assert.True(File.Exists(Path.Combine(run.Path, "tokenizer", "tokenizer.json")));
    }
}
