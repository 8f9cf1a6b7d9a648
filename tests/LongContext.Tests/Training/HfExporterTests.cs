using System.Text.Json;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Export;
using TorchSharp;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TrainingTestKit;

namespace LongContext.Tests.Training;

public class HfExporterTests
{
    static Tensor LogitsOf(LlamaForCausalLM model)
    {
        using var _ = no_grad();
        var ids = arange(0, 40, 3, dtype: ScalarType.Int64).unsqueeze(0);
        return model.Logits(model.Forward(ids, new SdpaAttentionBackend()));
    }

    [Fact]
    public void Exported_folder_loads_back_with_identical_logits_and_tokenizer_files()
    {
        using var dir = new TempDir();
        var source = Path.Combine(dir.Path, "base");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "tokenizer.json"), "{\"tok\": 1}");
        File.WriteAllText(Path.Combine(source, "chat_template.jinja"), "{{ messages }}");
        File.WriteAllText(Path.Combine(source, "unrelated.txt"), "x");
        using var model = NewModel(seed: 7);
        var outDir = Path.Combine(dir.Path, "export");
        var result = HfExporter.Export(model, outDir, new HfExportOptions { TokenizerSourceDir = source, RopeTheta = 2.5e6, MaxPositionEmbeddings = 1024 });

        Assert.Equal(["chat_template.jinja", "tokenizer.json"], result.CopiedFiles.Order().ToArray());
        Assert.Equal("{\"tok\": 1}", File.ReadAllText(Path.Combine(outDir, "tokenizer.json")));
        Assert.False(File.Exists(Path.Combine(outDir, "unrelated.txt")));
        Assert.False(Directory.Exists(outDir + ".tmp"));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")));
        Assert.Equal(2.5e6, config.RootElement.GetProperty("rope_theta").GetDouble());
        Assert.Equal(1024, config.RootElement.GetProperty("max_position_embeddings").GetInt32());
        Assert.Equal("float32", config.RootElement.GetProperty("torch_dtype").GetString());

        // Same θ as the original for the logits comparison (θ changes the model's function).
        var same = Path.Combine(dir.Path, "same");
        HfExporter.Export(model, same);
        using var loaded = ModelLoader.Load(same, CPU, ScalarType.Float32);
        Assert.True(LogitsOf(model).SameAs(LogitsOf(loaded)));
        using var loadedTheta = ModelLoader.Load(outDir, CPU, ScalarType.Float32);
        Assert.Equal(2.5e6, loadedTheta.Config.Rope.RopeTheta);
    }

    [Fact]
    public void Large_models_are_sharded_and_still_load()
    {
        using var dir = new TempDir();
        using var model = NewModel(seed: 8);
        var outDir = Path.Combine(dir.Path, "sharded");
        var result = HfExporter.Export(model, outDir, new HfExportOptions { MaxShardBytes = 100_000 });
        Assert.True(result.WeightFiles.Count > 1);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors.index.json")));
        using var loaded = ModelLoader.Load(outDir, CPU, ScalarType.Float32);
        Assert.True(LogitsOf(model).SameAs(LogitsOf(loaded)));
    }

    [Fact]
    public void Bf16_export_records_the_dtype_and_rounds_the_weights()
    {
        using var dir = new TempDir();
        using var model = NewModel(seed: 9);
        var outDir = Path.Combine(dir.Path, "bf16");
        HfExporter.Export(model, outDir, new HfExportOptions { Dtype = ScalarType.BFloat16 });
        using var loaded = ModelLoader.Load(outDir, CPU, ScalarType.Float32);
        Assert.Equal("bfloat16", loaded.Config.TorchDtype);
        var w = model.NamedTensors()["model.layers.0.self_attn.q_proj.weight"];
        Assert.True(loaded.NamedTensors()["model.layers.0.self_attn.q_proj.weight"].SameAs(w.to(ScalarType.BFloat16).to(ScalarType.Float32)));
    }

    [Fact]
    public void An_existing_folder_is_not_overwritten_unless_asked()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        var outDir = Path.Combine(dir.Path, "out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "keep.txt"), "x");
        Assert.Throws<CheckpointException>(() => { HfExporter.Export(model, outDir); });
        Assert.True(File.Exists(Path.Combine(outDir, "keep.txt")));
        HfExporter.Export(model, outDir, new HfExportOptions { Overwrite = true });
        Assert.False(File.Exists(Path.Combine(outDir, "keep.txt")));
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
    }
}
