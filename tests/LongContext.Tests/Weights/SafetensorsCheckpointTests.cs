using System.Text.Json;
using LongContext.Core.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Weights;

public class SafetensorsCheckpointTests
{
    private static Dictionary<string, Tensor> Weights(int seed = 0)
    {
        torch.manual_seed(seed);
        return new Dictionary<string, Tensor>
        {
            ["model.embed_tokens.weight"] = randn(16, 8).to(ScalarType.BFloat16),
            ["model.layers.0.self_attn.q_proj.weight"] = randn(8, 8).to(ScalarType.BFloat16),
            ["model.layers.0.self_attn.q_proj.bias"] = randn(8).to(ScalarType.BFloat16),
            ["model.layers.0.mlp.up_proj.weight"] = randn(12, 8).to(ScalarType.BFloat16),
            ["model.norm.weight"] = randn(8),
        };
    }

    [Fact]
    public void Sharded_write_splits_by_size_and_reads_back_identically()
    {
        using var dir = new TempDir();
        var weights = Weights();
        // 256 + 128 + 16 + 192 (bf16) + 32 (f32) bytes; at most 300 per shard -> 3 shards.
        var result = SafetensorsWriter.WriteSharded(dir.Path, weights, maxShardBytes: 300);
        Assert.Equal(["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"], result.Files);
        Assert.Equal(256 + 128 + 16 + 192 + 32, result.TotalSize);
        Assert.False(File.Exists(dir.File("model.safetensors")));

        using (var index = JsonDocument.Parse(File.ReadAllText(dir.File("model.safetensors.index.json"))))
        {
            Assert.Equal(result.TotalSize, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
            var map = index.RootElement.GetProperty("weight_map");
            Assert.Equal(5, map.EnumerateObject().Count());
            Assert.Equal("model-00001-of-00003.safetensors", map.GetProperty("model.embed_tokens.weight").GetString());
        }
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));

        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(3, checkpoint.Files.Count);
        Assert.Equal(weights.Keys.Order(StringComparer.Ordinal), checkpoint.Names);
        foreach (var (name, tensor) in weights)
        {
            using var back = checkpoint.LoadTensor(name);
            Assert.True(tensor.bytes.SequenceEqual(back.bytes), name);
        }
    }

    [Fact]
    public void Everything_within_the_limit_goes_to_one_model_safetensors_and_stale_shards_are_removed()
    {
        using var dir = new TempDir();
        SafetensorsWriter.WriteSharded(dir.Path, Weights(), maxShardBytes: 300);
        var result = SafetensorsWriter.WriteSharded(dir.Path, Weights(1), maxShardBytes: 1 << 20);
        Assert.Equal(["model.safetensors"], result.Files);
        Assert.Equal(["model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(5, checkpoint.Names.Count);
    }

    [Fact]
    public void LoadInto_copies_with_dtype_conversion_into_existing_parameters()
    {
        using var dir = new TempDir();
        var weights = Weights();
        SafetensorsWriter.WriteSharded(dir.Path, weights, maxShardBytes: 300);
        var targets = weights.ToDictionary(kv => kv.Key, kv => zeros(kv.Value.shape, ScalarType.Float32).requires_grad_(true));
        var progress = new List<CheckpointLoadProgress>();
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        var report = checkpoint.LoadInto(targets, progress: new SyncProgress(progress));
        Assert.Equal(5, report.Loaded.Count);
        Assert.Empty(report.Missing);
        Assert.Equal(5, progress.Count);
        Assert.Equal(progress[^1].BytesTotal, progress[^1].BytesDone);
        foreach (var (name, tensor) in weights)
        {
            Assert.Equal(ScalarType.Float32, targets[name].dtype);
            Assert.True(targets[name].requires_grad);
            Assert.True(targets[name].eq(tensor.to(ScalarType.Float32)).all().item<bool>(), name);
        }
    }

    [Fact]
    public void LoadInto_names_missing_unexpected_and_mismatched_tensors_before_copying()
    {
        using var dir = new TempDir();
        var weights = Weights();
        SafetensorsWriter.WriteSharded(dir.Path, weights, maxShardBytes: 1 << 20);
        var targets = weights.ToDictionary(kv => kv.Key, kv => zeros(kv.Value.shape));
        targets.Remove("model.norm.weight");
        targets["lm_head.weight"] = zeros(16, 8);
        targets["model.layers.0.mlp.up_proj.weight"] = zeros(8, 12);
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        var e = Assert.Throws<CheckpointException>(() => checkpoint.LoadInto(targets));
        Assert.Contains("'lm_head.weight'", e.Message);
        Assert.Contains("missing", e.Message);
        Assert.Contains("'model.norm.weight'", e.Message);
        Assert.Contains("match no model tensor", e.Message);
        Assert.Contains("'model.layers.0.mlp.up_proj.weight': checkpoint [12, 8], model [8, 12]", e.Message);
        Assert.Equal(0, targets["model.embed_tokens.weight"].count_nonzero().item<long>()); // nothing copied
    }

    [Fact]
    public void LoadInto_options_allow_tied_lm_head_and_missing_targets_and_always_skip_inv_freq()
    {
        using var dir = new TempDir();
        var weights = Weights();
        weights["lm_head.weight"] = randn(16, 8);
        weights["model.layers.0.self_attn.rotary_emb.inv_freq"] = randn(4);
        SafetensorsWriter.WriteSharded(dir.Path, weights, maxShardBytes: 1 << 20);
        var targets = weights.Where(kv => !kv.Key.Contains("lm_head") && !kv.Key.Contains("inv_freq"))
            .ToDictionary(kv => kv.Key, kv => zeros(kv.Value.shape));
        targets["extra.buffer"] = zeros(3);
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Throws<CheckpointException>(() => checkpoint.LoadInto(targets, new CheckpointLoadOptions { AllowedMissing = ["extra.buffer"] }));
        var report = checkpoint.LoadInto(targets, new CheckpointLoadOptions
        {
            AllowedUnexpected = ["lm_head.weight"],
            AllowedMissing = ["extra.buffer"],
        });
        Assert.Equal(5, report.Loaded.Count);
        Assert.Equal(["extra.buffer"], report.Missing);
        Assert.Contains("lm_head.weight", report.SkippedUnexpected);
        Assert.Contains("model.layers.0.self_attn.rotary_emb.inv_freq", report.SkippedUnexpected);
    }

    [Fact]
    public void Missing_shard_file_is_named()
    {
        using var dir = new TempDir();
        SafetensorsWriter.WriteSharded(dir.Path, Weights(), maxShardBytes: 300);
        File.Delete(dir.File("model-00002-of-00003.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains("model-00002-of-00003.safetensors", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Tensor_listed_in_the_index_but_absent_from_its_shard_is_named()
    {
        using var dir = new TempDir();
        SafetensorsWriter.WriteSharded(dir.Path, Weights(), maxShardBytes: 300);
        var indexPath = dir.File("model.safetensors.index.json");
        var text = File.ReadAllText(indexPath).Replace("\"weight_map\": {", "\"weight_map\": {\n    \"ghost.weight\": \"model-00001-of-00003.safetensors\",");
        File.WriteAllText(indexPath, text);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains("'ghost.weight'", e.Message);
        Assert.Contains("model-00001-of-00003.safetensors", e.Message);
    }

    [Fact]
    public void Index_with_a_path_outside_the_folder_is_refused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model.safetensors.index.json"), """{"weight_map": {"a": "../evil.safetensors"}}""");
        Assert.Contains("'a'", Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path)).Message);
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{not json");
        Assert.Contains("not valid JSON", Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path)).Message);
    }

    [Fact]
    public void Folder_without_safetensors_is_a_checkpoint_error()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("pytorch_model.bin"), "x");
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains(".bin", e.Message);
        Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.File("nowhere")));
    }

    private sealed class SyncProgress(List<CheckpointLoadProgress> sink) : IProgress<CheckpointLoadProgress>
    {
        public void Report(CheckpointLoadProgress value) => sink.Add(value);
    }
}
