using System.Text.Json;
using LongContext.Core.Model;
using LongContext.Core.Rope;
using LongContext.Formats.Config;
using LongContext.Training.Recipes;
using TorchSharp;
using static LongContext.Tests.Training.TrainingFixtures;

namespace LongContext.Tests.Cli;

/// <summary>
/// `longctx pretrain` and `longctx extend` end to end on the CPU with the tiny fixture model and tokenizer:
/// exports load, configs carry the stage θ and length, reruns skip or resume, --json parses.
/// </summary>
[Collection(CliCollection.Name)]
public class TrainingCommandsTests
{
    static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRun.Capture(args);

    static JsonElement LastJsonLine(string output) => CliRun.LastJson(output);

    [Fact]
    public async Task Pretrain_trains_from_random_weights_and_exports_a_loadable_model_with_its_tokenizer()
    {
        var data = Corpus();
        var outDir = TempDir("pretrain");
        string[] args = ["pretrain", "--config", Path.Combine(Hf, "models", "llama_default", "config.json"), "--tokenizer", TokenizerDir,
            "--data", data, "--seq-len", "64", "--steps", "3", "--lr", "1e-3", "--device", "cpu", "--out", outDir, "--json"];
        var (code, output, err) = await Run(args);
        Assert.True(code == 0, err);
        var json = LastJsonLine(output);
        var training = json.GetProperty("training");
        Assert.Equal(3, training.GetProperty("steps").GetInt32());
        Assert.Equal(3, training.GetProperty("steps_this_run").GetInt32());
        Assert.True(double.IsFinite(training.GetProperty("final_loss").GetDouble()));
        Assert.True(training.GetProperty("tokens_per_s").GetDouble() > 0);
        Assert.Contains("step 3/3", err);                                         // progress goes to stderr under --json

        var final = Path.Combine(outDir, "final");
        Assert.Equal(final, json.GetProperty("export_dir").GetString());
        Assert.True(File.Exists(Path.Combine(final, "tokenizer.json")));
        using var model = ModelLoader.Load(final, torch.CPU, torch.ScalarType.Float32);
        Assert.Equal(600, model.Config.VocabSize);
        // Trained: the export differs from the seeded random init it started from.
        using var init = ModelLoader.CreateRandom(model.Config, torch.CPU, torch.ScalarType.Float32, seed: 0);
        Assert.False(init.NamedTensors()["model.layers.0.self_attn.q_proj.weight"].allclose(model.NamedTensors()["model.layers.0.self_attn.q_proj.weight"]));

        var (again, output2, err2) = await Run(args);
        Assert.True(again == 0, err2);
        var rerun = LastJsonLine(output2);
        Assert.True(rerun.GetProperty("already_done").GetBoolean());
        Assert.Equal(0, rerun.GetProperty("training").GetProperty("steps_this_run").GetInt32());
    }

    [System.Runtime.InteropServices.DllImport("libc.so.6", SetLastError = true)]
    static extern int mkfifo(string path, uint mode);

    [Fact]
    public async Task Pretrain_on_a_folder_with_a_named_pipe_and_an_oversized_file_trains_and_lists_what_it_skipped()
    {
        var data = Corpus();
        string fifo = Path.Combine(data, "incoming.pipe");
        Assert.Equal(0, mkfifo(fifo, 0x1B6));
        File.WriteAllText(Path.Combine(data, "dump.txt"), new string('z', 20_000));
        string config = Path.Combine(Hf, "models", "llama_default", "config.json");
        string[] args = ["pretrain", "--config", config, "--tokenizer", TokenizerDir, "--data", data, "--max-file-bytes", "10000",
            "--seq-len", "64", "--steps", "1", "--device", "cpu"];

        var run = Run([.. args, "--out", TempDir("pretrain-special"), "--json"]);
        if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(120))) != run)
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write)) { }   // release a reader blocked on the pipe
            Assert.Fail("pretrain hung on the named pipe");
        }
        var (code, output, err) = await run;
        Assert.True(code == 0, err);
        var dataJson = LastJsonLine(output).GetProperty("data");
        Assert.Equal(4, dataJson.GetProperty("documents").GetInt32());
        var skipped = dataJson.GetProperty("skipped").EnumerateArray()
            .Select(e => $"{e.GetProperty("path").GetString()}: {e.GetProperty("reason").GetString()}").ToList();
        Assert.Equal(["dump.txt: too large (20,000 bytes > the 10,000-byte limit; raise it with --max-file-bytes)",
            "incoming.pipe: not a regular file (named pipe)"], skipped);

        // The text output says it too, in one summary line.
        var (again, text, err2) = await Run([.. args, "--out", TempDir("pretrain-special-text")]);
        Assert.True(again == 0, err2);
        Assert.Contains("data: 4 documents, ", text);
        Assert.Contains("skipped 2: 1 not a regular file, 1 too large", text);
    }

    [Fact]
    public async Task Pretrain_with_document_mask_trains_packed_documents_apart_and_records_the_option()
    {
        var outDir = TempDir("pretrain-docmask");
        var (code, output, err) = await Run("pretrain", "--config", Path.Combine(Hf, "models", "llama_default", "config.json"), "--tokenizer", TokenizerDir,
            "--data", Corpus(), "--seq-len", "64", "--steps", "2", "--document-mask", "--device", "cpu", "--out", outDir, "--json");
        Assert.True(code == 0, err);
        Assert.True(double.IsFinite(LastJsonLine(output).GetProperty("training").GetProperty("final_loss").GetDouble()));
        using var options = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "train", "training_options.json")));
        Assert.True(options.RootElement.GetProperty("document_mask").GetBoolean());
        var (_, help, _) = await Run("pretrain", "--help");
        Assert.Contains("--document-mask", help);
    }

    [Fact]
    public async Task Pretrain_refuses_a_tokenizer_with_more_ids_than_the_model_vocabulary()
    {
        var (code, _, err) = await Run("pretrain", "--preset", "tiny", "--tokenizer", TokenizerDir, "--data", Corpus(), "--seq-len", "64",
            "--steps", "1", "--device", "cpu", "--out", TempDir("pretrain-vocab"));
        Assert.Equal(1, code);
        Assert.Contains("vocab_size is 256", err);
    }

    [Fact]
    public async Task Extend_sets_the_scaling_law_theta_and_stage_length_per_stage_and_a_rerun_skips_finished_stages()
    {
        var model = ModelDir();
        var data = Corpus();
        var outDir = TempDir("extend");
        string[] args = ["extend", "--model", model, "--data", data, "--stages", "256,512", "--steps-per-stage", "2", "--lr", "1e-3",
            "--niah-depths", "0", "--device", "cpu", "--out", outDir, "--json"];
        var (code, output, err) = await Run(args);
        Assert.True(code == 0, err);
        var stages = LastJsonLine(output).GetProperty("stages").EnumerateArray().ToArray();
        Assert.Equal(2, stages.Length);

        double previousTheta = 10000;
        foreach (var (length, stage) in new[] { 256L, 512L }.Zip(stages))
        {
            double expected = Math.Round(ScalingLaw.CriticalTheta(10000, 64, length), MidpointRounding.AwayFromZero);
            Assert.True(expected > previousTheta);
            previousTheta = expected;
            var config = ModelConfigLoader.LoadFromDirectory(Path.Combine(outDir, ExtendRecipe.StageFolder(length), "final"));
            Assert.Equal(expected, config.Rope.RopeTheta);
            Assert.Equal("default", config.Rope.RopeType);
            Assert.Equal(length, config.MaxPositionEmbeddings);
            Assert.Equal(expected, stage.GetProperty("rope_theta").GetDouble());
            Assert.Equal(2, stage.GetProperty("training").GetProperty("steps").GetInt32());
            Assert.False(stage.GetProperty("skipped").GetBoolean());
            Assert.True(File.Exists(Path.Combine(outDir, ExtendRecipe.StageFolder(length), "final", "tokenizer.json")));
        }
        Assert.EndsWith(Path.Combine("stage-256", "final"), stages[1].GetProperty("started_from").GetString());

        var (again, output2, err2) = await Run(args);
        Assert.True(again == 0, err2);
        var rerun = LastJsonLine(output2).GetProperty("stages").EnumerateArray().ToArray();
        Assert.All(rerun, s => Assert.True(s.GetProperty("skipped").GetBoolean()));
        Assert.All(rerun, s => Assert.Equal(2, s.GetProperty("training").GetProperty("steps").GetInt32()));
        Assert.DoesNotContain("step 1/2", err2);                                 // nothing trained again
    }

    [Fact]
    public async Task Extend_resumes_an_unfinished_stage_from_its_checkpoint_and_runs_the_quick_niah()
    {
        var model = ModelDir();
        var outDir = TempDir("extend-resume");
        string[] args = ["extend", "--model", model, "--data", Corpus(), "--stages", "256", "--steps-per-stage", "2",
            "--niah-depths", "2", "--device", "cpu", "--out", outDir, "--json"];
        var (code, output, err) = await Run(args);
        Assert.True(code == 0, err);
        var stage = LastJsonLine(output).GetProperty("stages")[0];
        Assert.True(stage.GetProperty("niah_score").GetDouble() is >= 0 and <= 100);   // a random tiny model: the score itself is not checked
        var stageDir = Path.Combine(outDir, "stage-256");
        Assert.True(File.Exists(Path.Combine(stageDir, "niah", "report.md")));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(stageDir, "niah", "results.jsonl")).Length);

        // The stage's export is gone (as if the run died after training): the rerun resumes the checkpoint at step 2, trains nothing, exports again.
        Directory.Delete(Path.Combine(stageDir, "final"), recursive: true);
        File.Delete(Path.Combine(stageDir, ExtendStageResult.FileName));
        var (again, output2, err2) = await Run(args);
        Assert.True(again == 0, err2);
        var resumed = LastJsonLine(output2).GetProperty("stages")[0];
        Assert.Equal(2, resumed.GetProperty("resumed_from_step").GetInt32());
        Assert.Equal(0, resumed.GetProperty("training").GetProperty("steps_this_run").GetInt32());
        Assert.Equal(2, resumed.GetProperty("training").GetProperty("steps").GetInt32());
        Assert.True(File.Exists(Path.Combine(stageDir, "final", "config.json")));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(stageDir, "niah", "results.jsonl")).Length);   // NIAH items resumed, not rerun
    }

    [Fact]
    public async Task Extend_with_lora_trains_only_adapters_and_exports_them_merged()
    {
        var model = ModelDir();
        var outDir = TempDir("extend-lora");
        var (code, output, err) = await Run("extend", "--model", model, "--data", Corpus(), "--stages", "256", "--steps-per-stage", "2", "--lr", "1e-2",
            "--lora-rank", "4", "--niah-depths", "0", "--device", "cpu", "--out", outDir, "--json");
        Assert.True(code == 0, err);
        Assert.Equal(4, LastJsonLine(output).GetProperty("stages")[0].GetProperty("lora_rank").GetInt32());

        using var start = ModelLoader.Load(model, torch.CPU, torch.ScalarType.Float32);
        using var extended = ModelLoader.Load(Path.Combine(outDir, "stage-256", "final"), torch.CPU, torch.ScalarType.Float32);
        var (before, after) = (start.NamedTensors(), extended.NamedTensors());
        Assert.Equal(before.Keys.Order(), after.Keys.Order());                                // plain HF names: no lora_A/lora_B left
        Assert.True(before["model.embed_tokens.weight"].allclose(after["model.embed_tokens.weight"], rtol: 0, atol: 0));           // frozen
        Assert.True(before["model.layers.0.mlp.up_proj.weight"].allclose(after["model.layers.0.mlp.up_proj.weight"], rtol: 0, atol: 0));   // not a target
        Assert.False(before["model.layers.0.self_attn.q_proj.weight"].allclose(after["model.layers.0.self_attn.q_proj.weight"]));   // adapter merged
    }

    [Fact]
    public async Task Extend_with_lora_on_mlp_and_trainable_norms_updates_exactly_those()
    {
        var model = ModelDir();
        var outDir = TempDir("extend-lora-longlora");
        var (code, _, err) = await Run("extend", "--model", model, "--data", Corpus(), "--stages", "256", "--steps-per-stage", "2", "--lr", "1e-2",
            "--lora-rank", "4", "--lora-targets", "gate_proj,up_proj,down_proj", "--lora-trainable", "norm", "--niah-depths", "0",
            "--device", "cpu", "--out", outDir, "--json");
        Assert.True(code == 0, err);
        using var start = ModelLoader.Load(model, torch.CPU, torch.ScalarType.Float32);
        using var extended = ModelLoader.Load(Path.Combine(outDir, "stage-256", "final"), torch.CPU, torch.ScalarType.Float32);
        var (before, after) = (start.NamedTensors(), extended.NamedTensors());
        bool Same(string name) => before[name].allclose(after[name], rtol: 0, atol: 0);
        Assert.True(Same("model.embed_tokens.weight"));
        Assert.True(Same("model.layers.0.self_attn.q_proj.weight"));        // attention is no target this time
        Assert.False(Same("model.layers.0.mlp.up_proj.weight"));            // MLP adapters merged
        Assert.False(Same("model.layers.0.input_layernorm.weight"));        // norms trained (LongLoRA)
    }

    [Fact]
    public async Task Lora_options_without_a_rank_are_refused()
    {
        var (code, _, err) = await Run("extend", "--model", ModelDir(), "--data", Corpus(), "--stages", "256", "--lora-trainable", "norm",
            "--device", "cpu", "--out", TempDir("extend-lora-bad"));
        Assert.NotEqual(0, code);
        Assert.Contains("--lora-rank", err);
    }
}
